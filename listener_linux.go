package herald

import "syscall"

var errTooManyFiles error = syscall.EMFILE
