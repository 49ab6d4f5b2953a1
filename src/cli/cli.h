/* Subcommands of the skiff binary; each returns the process exit code. */
#ifndef SK_CLI_H
#define SK_CLI_H
#include "lib/lib.h"

#define SKIFF_VERSION_MAJOR "1"
#define SKIFF_VERSION_MINOR "32"
#define SKIFF_GIT_VERSION "v1.32.0+skiff.1"

int sk_cmd_server(int argc, char **argv);
int sk_cmd_version(int argc, char **argv);
int sk_cmd_agent(int argc, char **argv);
int sk_cmd_controller_manager(int argc, char **argv);
int sk_cmd_image(int argc, char **argv);
/* "50s", "500ms", "2m" or plain seconds -> ms; -1 with a message on stderr. */
int sk_parse_duration_ms(const char *flag, const char *v, int64_t *out);
#endif
