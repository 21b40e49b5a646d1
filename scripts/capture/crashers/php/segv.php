<?php
// The FPM child kills itself with SIGSEGV: the master logs `child N exited on signal 11 (SIGSEGV) ...`.
posix_kill(posix_getpid(), 11); // SIGSEGV (the pcntl constants are not in php-fpm)
