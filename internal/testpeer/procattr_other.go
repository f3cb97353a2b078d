//go:build !linux

package testpeer

import "syscall"

func procAttr() *syscall.SysProcAttr { return nil }
