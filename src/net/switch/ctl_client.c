/* Client side of the switch's control socket. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "switch.h"

/* Ask the switch; returns its JSON answer or NULL with a message in e. */
struct json_object *sw_ctl_query(const char *path, const char *cmd,
				     struct err *e)
{
	char ctl[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t pl = strlen(path), sl = strlen(SW_CTL_SUFFIX);
	bool is_ctl = pl > sl && !strcmp(path + pl - sl, SW_CTL_SUFFIX);
	if ((size_t)snprintf(ctl, sizeof(ctl), "%s%s", path,
			     is_ctl ? "" : SW_CTL_SUFFIX) >= sizeof(ctl)) {
		err_set(e, ENAMETOOLONG, "socket path `%s` is too long", path);
		return NULL;
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strcpy(a.sun_path, ctl);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		err_set(e, errno, "no switch is running at `%s` (%s: %s)", path,
			ctl, strerror(errno));
		return NULL;
	}
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char line[64];
	snprintf(line, sizeof(line), "%s\n", cmd);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
		err_sys(e, errno, "send to `%s`", ctl);
		return NULL;
	}
	struct json_tokener *tok = json_tokener_new();
	struct json_object *j = NULL;
	char buf[16384];
	ssize_t n;
	enum json_tokener_error te = json_tokener_continue;
	while (!j && (n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		j = json_tokener_parse_ex(tok, buf, (int)n);
		te = json_tokener_get_error(tok);
		if (!j && te != json_tokener_continue)
			break;
	}
	json_tokener_free(tok);
	if (!j)
		err_set(e, EPROTO, "bad answer from `%s`", ctl);
	return j;
}
