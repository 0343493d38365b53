/* Output commit and input bounds (experiments/io.c): devices written in
 * place with errors reported, several outputs committed whole or not at
 * all, paths that would destroy data refused, endless inputs cut off at the
 * limit, and the exclusive lock that keeps two sweeps off one output set. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gka_io.h"

static char dir[64];
static char path[256];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/gka_io_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(io, .init = setup, .fini = teardown);

static const char *in_dir(const char *name) {
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static int entries(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    cr_assert_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

Test(io, devices_are_written_in_place) {
    struct stat before, after;
    cr_assert_eq(stat("/dev/null", &before), 0);
    gka_outfile_t f;
    cr_assert_eq(gka_outfile_open(&f, "/dev/null"), GKA_OK, "%s", gka_error_message());
    cr_assert(f.direct);
    fputs("x\n", f.fp);
    cr_assert_eq(gka_outfile_commit(&f), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(stat("/dev/null", &after), 0);
    cr_assert(S_ISCHR(after.st_mode), "/dev/null is no longer a device");
    cr_assert_eq(before.st_rdev, after.st_rdev);
}

Test(io, full_device_fails_the_commit) {
    if (access("/dev/full", W_OK) != 0) cr_skip_test("/dev/full not available");
    gka_outfile_t f;
    cr_assert_eq(gka_outfile_open(&f, "/dev/full"), GKA_OK, "%s", gka_error_message());
    for (int i = 0; i < 1000; i++)
        fputs("0123456789abcdef\n", f.fp);
    cr_assert_eq(gka_outfile_commit(&f), GKA_EIO);
    cr_assert(strstr(gka_error_message(), "/dev/full: write failed: No space left on device"), "%s",
              gka_error_message());
    struct stat st;
    cr_assert_eq(stat("/dev/full", &st), 0);
    cr_assert(S_ISCHR(st.st_mode));
}

Test(io, fifo_is_written_in_place) {
    cr_assert_eq(mkfifo(in_dir("fifo"), 0600), 0);
    pid_t pid = fork();
    if (pid == 0) { /* reader */
        char buf[64] = "";
        int fd = open(in_dir("fifo"), O_RDONLY);
        ssize_t n = read(fd, buf, sizeof buf - 1);
        _exit(n == 6 && !memcmp(buf, "hello\n", 6) ? 0 : 1);
    }
    gka_outfile_t f;
    cr_assert_eq(gka_outfile_open(&f, in_dir("fifo")), GKA_OK, "%s", gka_error_message());
    fputs("hello\n", f.fp);
    cr_assert_eq(gka_outfile_commit(&f), GKA_OK, "%s", gka_error_message());
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the reader did not get the data");
    struct stat sb;
    cr_assert_eq(stat(in_dir("fifo"), &sb), 0);
    cr_assert(S_ISFIFO(sb.st_mode));
}

Test(io, commit_all_is_whole_or_nothing) {
    gka_outfile_t a, b;
    cr_assert_eq(gka_outfile_open(&a, in_dir("a.csv")), GKA_OK);
    cr_assert_eq(gka_outfile_open(&b, in_dir("b.csv")), GKA_OK);
    fputs("a\n", a.fp);
    fputs("b\n", b.fp);
    /* the second rename fails: its temporary file is gone */
    cr_assert_eq(unlink(b.tmp), 0);
    gka_outfile_t *both[2] = {&a, &b};
    cr_assert_eq(gka_outfile_commit_all(both, 2), GKA_EIO);
    cr_assert(strstr(gka_error_message(), "b.csv: cannot rename"), "%s", gka_error_message());
    cr_assert_eq(entries(), 0, "a new file was left");
    /* and both arrive when both are written */
    cr_assert_eq(gka_outfile_open(&a, in_dir("a.csv")), GKA_OK);
    cr_assert_eq(gka_outfile_open(&b, in_dir("b.csv")), GKA_OK);
    fputs("a\n", a.fp);
    fputs("b\n", b.fp);
    cr_assert_eq(gka_outfile_commit_all(both, 2), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(entries(), 2);
}

Test(io, symlink_target_is_replaced_not_the_link) {
    FILE *t = fopen(in_dir("target.csv"), "w");
    fputs("old\n", t);
    fclose(t);
    char link[256];
    snprintf(link, sizeof link, "%s/link.csv", dir);
    cr_assert_eq(symlink("target.csv", link), 0);
    gka_outfile_t f;
    cr_assert_eq(gka_outfile_open(&f, link), GKA_OK);
    fputs("new\n", f.fp);
    cr_assert_eq(gka_outfile_commit(&f), GKA_OK, "%s", gka_error_message());
    struct stat st;
    cr_assert_eq(lstat(link, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the link was replaced by a file");
    char buf[16] = "";
    t = fopen(in_dir("target.csv"), "r");
    cr_assert_not_null(fgets(buf, sizeof buf, t));
    fclose(t);
    cr_assert_str_eq(buf, "new\n");
}

Test(io, paths_that_destroy_data_are_refused) {
    FILE *t = fopen(in_dir("k.npy"), "w");
    fclose(t);
    char k[256], k2[256], x[256];
    snprintf(k, sizeof k, "%s/k.npy", dir);
    snprintf(k2, sizeof k2, "%s/./k.npy", dir);
    snprintf(x, sizeof x, "%s/new.csv", dir);
    const char *in[] = {k};
    const char *in_names[] = {"--keys"};
    const char *o1[] = {k2, NULL};
    const char *names[] = {"--csv", "--history"};
    cr_assert_eq(gka_paths_check(o1, names, 2, in, in_names, 1), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "is the input of --keys"), "%s", gka_error_message());
    const char *o2[] = {x, x};
    cr_assert_eq(gka_paths_check(o2, names, 2, in, in_names, 1), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "--csv and --history name the same file"), "%s",
              gka_error_message());
    const char *o3[] = {"--warm", NULL};
    cr_assert_eq(gka_paths_check(o3, names, 2, NULL, NULL, 0), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "looks like an option"), "%s", gka_error_message());
    const char *o4[] = {x, NULL};
    cr_assert_eq(gka_paths_check(o4, names, 2, in, in_names, 1), GKA_OK, "%s", gka_error_message());
}

Test(io, endless_input_is_cut_at_the_limit) {
    unsigned char *data = (unsigned char *)"x";
    size_t len = 1;
    cr_assert_eq(gka_read_file_max("/dev/zero", 1 << 20, "grid file", &data, &len), GKA_ERANGE);
    cr_assert(strstr(gka_error_message(), "/dev/zero: grid file larger than the limit of 1048576"),
              "%s", gka_error_message());
    cr_assert_null(data);
    cr_assert_eq(gka_read_file_max(dir, 100, "grid file", &data, &len), GKA_EIO);
    cr_assert(strstr(gka_error_message(), "is a directory"), "%s", gka_error_message());
    FILE *t = fopen(in_dir("g.toml"), "w");
    fputs("D = 4\n", t);
    fclose(t);
    cr_assert_eq(gka_read_file_max(in_dir("g.toml"), 6, "grid file", &data, &len), GKA_OK);
    cr_assert_eq(len, 6);
    free(data);
    cr_assert_eq(gka_read_file_max(in_dir("g.toml"), 5, "grid file", &data, &len), GKA_ERANGE);
}

Test(io, lock_is_exclusive_between_processes) {
    int fd = open(in_dir("j"), O_RDWR | O_CREAT, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(gka_lock_fd(fd, "j"), GKA_OK, "%s", gka_error_message());
    pid_t pid = fork();
    if (pid == 0) {
        int fd2 = open(in_dir("j"), O_RDWR);
        gka_status_t st = gka_lock_fd(fd2, "j");
        _exit(st == GKA_EIO && strstr(gka_error_message(), "in use by another run") ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a second process took the lock");
    close(fd);
}
