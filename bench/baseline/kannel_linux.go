package main

import "syscall"

// childAttr has Linux kill Kannel's processes if the baseline dies first.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
