//go:build !unix

package redis

// alive cannot peek without waiting here; a dead connection shows up as
// the next command's error.
func (cn *conn) alive() bool { return cn.br.Buffered() == 0 }
