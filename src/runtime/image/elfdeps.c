/* The shared libraries a dynamically linked ELF binary needs, found the way
 * the dynamic loader finds them (DT_NEEDED, recursively, in the standard
 * library directories) plus its interpreter: what must be copied next to a
 * host binary (curl) to run it inside a built-in image. Reads ELF64 of the
 * host's byte order only; every offset is bounds-checked. */
#include "runtime/image/image_int.h"

#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#define ELF_MAX_SIZE (256 << 20)
#define ELF_MAX_DEPS 128

struct elf_map {
    const unsigned char *p;
    size_t n;
};

static bool in_range(const struct elf_map *m, uint64_t off, uint64_t len)
{
    return off <= m->n && len <= m->n - off;
}

/* File offset of virtual address va, through the PT_LOAD segments. */
static bool va_to_off(const struct elf_map *m, const Elf64_Ehdr *eh, uint64_t va, uint64_t *off)
{
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const void *)(m->p + eh->e_phoff + (uint64_t)i * sizeof *ph);
        if (ph->p_type == PT_LOAD && va >= ph->p_vaddr && va - ph->p_vaddr < ph->p_filesz) {
            *off = ph->p_offset + (va - ph->p_vaddr);
            return true;
        }
    }
    return false;
}

/* Appends interpreter (if any, when interp != NULL) and DT_NEEDED names to needed. */
static int elf_needed(const struct elf_map *m, json_t *needed, char **interp, const char *path,
                      sk_err *err)
{
    const Elf64_Ehdr *eh = (const void *)m->p;
    if (m->n < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
        !in_range(m, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
        return sk_err_set(err, SK_EINVALID, "%s: not a 64-bit ELF file", path);
    const Elf64_Phdr *dyn = NULL;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const void *)(m->p + eh->e_phoff + (uint64_t)i * sizeof *ph);
        if (ph->p_type == PT_DYNAMIC) dyn = ph;
        if (ph->p_type == PT_INTERP && interp && !*interp && in_range(m, ph->p_offset, ph->p_filesz) &&
            ph->p_filesz > 1 && m->p[ph->p_offset + ph->p_filesz - 1] == 0)
            *interp = sk_strdup((const char *)m->p + ph->p_offset);
    }
    if (!dyn) return 0; /* static */
    if (!in_range(m, dyn->p_offset, dyn->p_filesz))
        return sk_err_set(err, SK_EINVALID, "%s: bad dynamic section", path);
    const Elf64_Dyn *d = (const void *)(m->p + dyn->p_offset);
    size_t nd = dyn->p_filesz / sizeof *d;
    uint64_t strtab = 0, strsz = 0;
    for (size_t i = 0; i < nd && d[i].d_tag != DT_NULL; i++) {
        if (d[i].d_tag == DT_STRTAB) strtab = d[i].d_un.d_ptr;
        if (d[i].d_tag == DT_STRSZ) strsz = d[i].d_un.d_val;
    }
    uint64_t stroff;
    if (!strtab || !va_to_off(m, eh, strtab, &stroff) || !in_range(m, stroff, strsz))
        return sk_err_set(err, SK_EINVALID, "%s: bad string table", path);
    for (size_t i = 0; i < nd && d[i].d_tag != DT_NULL; i++) {
        if (d[i].d_tag != DT_NEEDED || d[i].d_un.d_val >= strsz) continue;
        const char *name = (const char *)m->p + stroff + d[i].d_un.d_val;
        if (!memchr(name, 0, strsz - d[i].d_un.d_val)) continue;
        json_array_append_new(needed, json_string(name));
    }
    return 0;
}

static int map_file(const char *path, struct elf_map *m, sk_err *err)
{
    _sk_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) return sk_err_sys(err, "open %s", path);
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > ELF_MAX_SIZE)
        return sk_err_set(err, SK_EINVALID, "%s: not a regular file of a sensible size", path);
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return sk_err_sys(err, "mmap %s", path);
    m->p = p;
    m->n = (size_t)st.st_size;
    return 0;
}

/* First existing DIR/name over the loader's default directories. */
static char *resolve(const char *name)
{
    struct utsname u;
    uname(&u);
    const char *triplet = !strcmp(u.machine, "aarch64") ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
    _sk_free_ char *l1 = sk_printf("/lib/%s", triplet);
    _sk_free_ char *l2 = sk_printf("/usr/lib/%s", triplet);
    const char *dirs[] = {l1, l2, "/lib64", "/usr/lib64", "/lib", "/usr/lib"};
    for (size_t i = 0; i < SK_ARRAY_LEN(dirs); i++) {
        char *p = sk_printf("%s/%s", dirs[i], name);
        if (access(p, R_OK) == 0) return p;
        free(p);
    }
    return NULL;
}

int sk_elf_deps(const char *path, char ***out, sk_err *err)
{
    *out = NULL;
    _sk_json_ json_t *queue = json_array();   /* names still to open */
    _sk_json_ json_t *seen = json_object();   /* name -> resolved path */
    _sk_free_ char *interp = NULL;
    struct elf_map m;
    if (map_file(path, &m, err) < 0) return -1;
    int rc = elf_needed(&m, queue, &interp, path, err);
    munmap((void *)m.p, m.n);
    if (rc < 0) return -1;
    for (size_t qi = 0; qi < json_array_size(queue); qi++) {
        const char *name = json_string_value(json_array_get(queue, qi));
        if (json_object_get(seen, name)) continue;
        if (json_object_size(seen) >= ELF_MAX_DEPS)
            return sk_err_set(err, SK_EINVALID, "%s: more than %d libraries", path, ELF_MAX_DEPS);
        _sk_free_ char *lib = strchr(name, '/') ? sk_strdup(name) : resolve(name);
        if (!lib) return sk_err_set(err, SK_ENOTFOUND, "%s: library %s not found", path, name);
        json_object_set_new(seen, name, json_string(lib));
        if (map_file(lib, &m, err) < 0) return -1;
        rc = elf_needed(&m, queue, NULL, lib, err);
        munmap((void *)m.p, m.n);
        if (rc < 0) return -1;
    }
    size_t n = json_object_size(seen) + (interp ? 1 : 0);
    char **v = sk_calloc(n + 1, sizeof *v);
    size_t i = 0;
    const char *k;
    json_t *val;
    json_object_foreach(seen, k, val) v[i++] = sk_strdup(json_string_value(val));
    if (interp) v[i++] = SK_TAKE(interp);
    *out = v;
    return 0;
}
