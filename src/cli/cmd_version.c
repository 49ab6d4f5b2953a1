#include "cli/cli.h"

#include <stdio.h>

int sk_cmd_version(int argc, char **argv)
{
    printf("skiff %s (Kubernetes API %s.%s)\n", SKIFF_GIT_VERSION, SKIFF_VERSION_MAJOR,
           SKIFF_VERSION_MINOR);
    return 0;
}
