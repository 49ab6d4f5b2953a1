/* skiff image load FILE | ls | rm REF... | pull REF: the node's image store. */
#include "cli/cli.h"
#include "runtime/image/image.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: skiff image [--data-dir DIR] <command>\n\n"
               "commands:\n"
               "  load FILE [--name REPO]   load a docker save or OCI archive (FILE - = stdin)\n"
               "  ls                        list images\n"
               "  rm REF...                 remove images (name or image ID) and unused blobs\n"
               "  pull REF [--username U --password P]\n"
               "                            pull from a registry (mirrors: DIR/registries.yaml)\n"
               "\nDIR defaults to /var/lib/skiff; images live in DIR/images.\n");
}

static void human_size(int64_t b, char *out, size_t n)
{
    if (b < 1000) snprintf(out, n, "%lldB", (long long)b);
    else if (b < 1000000) snprintf(out, n, "%.1fkB", (double)b / 1e3);
    else if (b < 1000000000) snprintf(out, n, "%.1fMB", (double)b / 1e6);
    else snprintf(out, n, "%.2fGB", (double)b / 1e9);
}

static int cmd_ls(sk_image_store *s)
{
    sk_image_info *v = NULL;
    size_t n = 0;
    sk_err err = SK_ERR_INIT;
    if (sk_image_list(s, &v, &n, &err) < 0) {
        fprintf(stderr, "skiff image ls: %s\n", err.msg);
        return 1;
    }
    printf("%-50s %-20s %-14s %s\n", "IMAGE", "TAG", "IMAGE ID", "SIZE");
    for (size_t i = 0; i < n; i++) {
        char size[32], repo[512], tag[160] = "<none>";
        snprintf(repo, sizeof repo, "%s", v[i].ref ? v[i].ref : "<none>");
        char *at = strchr(repo, '@');
        char *colon = strrchr(repo, ':');
        char *slash = strrchr(repo, '/');
        if (at) {
            *at = 0;
        } else if (colon && slash && colon > slash) {
            snprintf(tag, sizeof tag, "%s", colon + 1);
            *colon = 0;
        }
        human_size(v[i].size, size, sizeof size);
        printf("%-50s %-20s %-14.12s %s\n", repo, tag, v[i].id + 7, size);
    }
    sk_image_info_free(v, n);
    return 0;
}

static int cmd_load(sk_image_store *s, int argc, char **argv)
{
    const char *file = NULL, *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "-i") && i + 1 < argc) file = argv[++i];
        else if (!file) file = argv[i];
        else return usage(stderr), 2;
    }
    if (!file) return usage(stderr), 2;
    char **refs = NULL;
    sk_err err = SK_ERR_INIT;
    if (sk_image_load(s, file, name, &refs, &err) < 0) {
        fprintf(stderr, "skiff image load: %s\n", err.msg);
        return 1;
    }
    for (char **r = refs; *r; r++)
        printf("Loaded image%s: %s\n", strncmp(*r, "sha256:", 7) ? "" : " ID", *r);
    sk_image_strv_free(refs);
    return 0;
}

static int cmd_rm(sk_image_store *s, int argc, char **argv)
{
    if (argc < 2) return usage(stderr), 2;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        sk_err err = SK_ERR_INIT;
        if (sk_image_remove(s, argv[i], &err) < 0) {
            fprintf(stderr, "skiff image rm: %s\n", err.msg);
            rc = 1;
            continue;
        }
        printf("Deleted: %s\n", argv[i]);
    }
    return rc;
}

static int cmd_pull(sk_image_store *s, int argc, char **argv)
{
    struct sk_image_pull_opts o = {0};
    const char *ref = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--username") && i + 1 < argc) o.username = argv[++i];
        else if (!strcmp(argv[i], "--password") && i + 1 < argc) o.password = argv[++i];
        else if (!ref) ref = argv[i];
        else return usage(stderr), 2;
    }
    if (!ref) return usage(stderr), 2;
    char *stored = NULL;
    sk_err err = SK_ERR_INIT;
    if (sk_image_pull(s, ref, &o, &stored, &err) < 0) {
        fprintf(stderr, "skiff image pull: %s\n", err.msg);
        return 1;
    }
    printf("Pulled: %s\n", stored);
    free(stored);
    return 0;
}

int sk_cmd_image(int argc, char **argv)
{
    const char *data_dir = "/var/lib/skiff";
    int k = 0;
    char **rest = sk_calloc((size_t)argc + 1, sizeof *rest);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data-dir") && i + 1 < argc) data_dir = argv[++i];
        else if (!strncmp(argv[i], "--data-dir=", 11)) data_dir = argv[i] + 11;
        else rest[k++] = argv[i];
    }
    int rc = 2;
    if (k == 0 || !strcmp(rest[0], "-h") || !strcmp(rest[0], "--help") ||
        !strcmp(rest[0], "help")) {
        usage(k ? stdout : stderr);
        rc = k ? 0 : 2;
        goto out;
    }
    sk_err err = SK_ERR_INIT;
    sk_image_store *s = sk_image_store_open(data_dir, &err);
    if (!s) {
        fprintf(stderr, "skiff image: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    if (!strcmp(rest[0], "ls") || !strcmp(rest[0], "list")) rc = cmd_ls(s);
    else if (!strcmp(rest[0], "load")) rc = cmd_load(s, k, rest);
    else if (!strcmp(rest[0], "rm") || !strcmp(rest[0], "rmi")) rc = cmd_rm(s, k, rest);
    else if (!strcmp(rest[0], "pull")) rc = cmd_pull(s, k, rest);
    else {
        fprintf(stderr, "skiff image: unknown command \"%s\"\n", rest[0]);
        usage(stderr);
    }
    sk_image_store_free(s);
out:
    free(rest);
    return rc;
}
