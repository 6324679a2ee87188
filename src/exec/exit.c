/* How a ringvm exec process ends when its program ended: as the native
 * process would have (exec_int.h), for both engines. */
#include "exec_int.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

_Noreturn void exec_exit_as(int status)
{
	int sig = status & 0x7f;
	if (sig) {
		sigset_t s;
		signal(sig, SIG_DFL);
		sigemptyset(&s);
		sigaddset(&s, sig);
		pthread_sigmask(SIG_UNBLOCK, &s, NULL);
		raise(sig);
	}
	for (;;)
		syscall(SYS_exit_group, sig ? 128 + sig : (status >> 8) & 0xff);
}
