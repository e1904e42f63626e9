/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpbd-harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fpb-test-tree.h"

int fpbd_harness_main(const char *dir_template, gboolean open_dir, const char *node_xml,
                      char **ret_dir, FpbdHarnessRun run, int argc, char **argv)
{
    g_autofree char *dir = g_strdup(dir_template);
    g_autofree char *node = NULL;
    pid_t pid;
    int status = 0;

    if (g_mkdtemp(dir) == NULL || (open_dir && chmod(dir, 0755) < 0)) {
        printf("Bail out! cannot create %s: %s\n", dir, g_strerror(errno));
        return 1;
    }
    node = g_strdup_printf("%s/node.xml", dir);
    if (!g_file_set_contents(node, node_xml, -1, NULL)) {
        printf("Bail out! cannot write %s\n", node);
        fpb_test_remove_tree(dir);
        return 1;
    }
    *ret_dir = g_strdup(dir);
    signal(SIGPIPE, SIG_IGN);
    fflush(stdout);
    /* the tests in a child, so the directory goes whatever they do */
    if ((pid = fork()) == 0) {
        _exit(run(argc, argv));
    }
    waitpid(pid, &status, 0);
    g_usleep(100000); /* fpbd (PR_SET_PDEATHSIG) is gone by then */
    fpb_test_remove_tree(dir);
    return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int fpbd_harness_silent_listener(int *ret_port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    g_assert_cmpint(listen(fd, 8), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &len), ==, 0);
    *ret_port = ntohs(a.sin_port);
    return fd;
}
