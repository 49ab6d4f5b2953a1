#include "cli/cli.h"
#include <stdio.h>
int sk_cmd_server(int argc, char **argv) { fprintf(stderr, "skiff server: not built yet\n"); return 1; }
