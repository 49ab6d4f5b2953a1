/* Subcommands of the skiff binary; each returns the process exit code. */
#ifndef SK_CLI_H
#define SK_CLI_H
#include "lib/lib.h"

#define SKIFF_VERSION_MAJOR "1"
#define SKIFF_VERSION_MINOR "32"
#define SKIFF_GIT_VERSION "v1.32.0+skiff.1"

int sk_cmd_server(int argc, char **argv);
int sk_cmd_version(int argc, char **argv);
#endif
