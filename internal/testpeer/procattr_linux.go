package testpeer

import "syscall"

// procAttr makes a server die with the test process, should the test
// binary be killed before its cleanup runs.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
