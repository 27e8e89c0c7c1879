/* test_batch.c: yz_batch_run as a library: it prints nothing (not even to stderr), tells its
 * caller every record it did not decide and how far it got through the callbacks, and refuses
 * an output file it could not write. */
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "yuanzhu.h"

typedef struct seen {
    int problems, progress, finals;
    long lines[8];
    bool rejected[8];
    char first[300];
    uint64_t records_at_end, bytes_at_end;
} seen;

static void on_problem(const yz_batch_problem *p, void *ctx)
{
    seen *s = ctx;
    if (s->problems < 8) {
        s->lines[s->problems] = p->line;
        s->rejected[s->problems] = p->rejected;
    }
    if (!s->problems++)
        snprintf(s->first, sizeof s->first, "%s:%ld: %s", p->input, p->line, p->message);
}

static void on_progress(const yz_batch_progress *p, void *ctx)
{
    seen *s = ctx;
    s->progress++;
    if (p->final) {
        s->finals++;
        s->records_at_end = p->records;
        s->bytes_at_end = p->bytes_read;
    }
}

/* runs a batch of text with stderr sent to a file; returns its rc, *printed what went there */
static int run(const char *text, const char *rejects, seen *s, long *printed, yz_batch_summary *sum)
{
    char in[] = "/tmp/yz-unit-batch-XXXXXX";
    int fd = mkstemp(in);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return -1;
    close(fd);
    yz_batch_options o;
    memset(&o, 0, sizeof o);
    o.home = ".";
    o.province = "tests/bench/policy";
    o.as_of = "2026-06-15";
    o.input = in;
    o.format = "jsonl";
    o.jobs = 2;
    o.rejects = rejects;
    o.on_problem = on_problem;
    o.on_progress = on_progress;
    o.ctx = s;
    yz_diags d;
    yz_diags_init(&d);
    fflush(stderr);
    int saved = dup(2);
    FILE *err = tmpfile();
    dup2(fileno(err), 2);
    int rc = yz_batch_run(&o, sum, &d);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fseek(err, 0, SEEK_END);
    *printed = ftell(err);
    fclose(err);
    if (d.n)
        snprintf(s->first + strlen(s->first), sizeof s->first - strlen(s->first), " | %s", d.items[0].message);
    yz_diags_free(&d);
    unlink(in);
    return rc;
}

void test_batch(void)
{
    static const char good[] = "{\"schema\":1,\"id_number\":\"440106198506150025\",\"sex\":\"F\",\"birth_date\":\"1985-06-15\"}\n";
    char text[1024];
    snprintf(text, sizeof text, "%snot json\n%s{\"schema\":1,\"sex\":\"X\"}\n", good, good);
    seen s;
    memset(&s, 0, sizeof s);
    long printed = -1;
    yz_batch_summary sum;
    int rc = run(text, NULL, &s, &printed, &sum);
    CHECK_INT(rc, YZ_EINPUT);
    CHECK_INT(printed, 0); /* the library printed nothing */
    CHECK_INT(s.problems, 2);
    CHECK_INT(s.lines[0], 2);
    CHECK_INT(s.lines[1], 4);
    CHECK(s.rejected[0] && s.rejected[1]);
    CHECK(strstr(s.first, ":2: ") != NULL && strstr(s.first, "column 1") != NULL);
    CHECK_INT(s.finals, 1);
    CHECK_INT(s.records_at_end, 4);
    CHECK_INT(s.bytes_at_end, strlen(text));
    CHECK_INT(sum.decided, 2);
    CHECK_INT(sum.rejected, 2);
    yz_batch_summary_free(&sum);

    /* a rejects file that cannot be written: the run fails naming it */
    memset(&s, 0, sizeof s);
    rc = run(text, "/dev/full", &s, &printed, &sum);
    CHECK_INT(rc, YZ_EIO);
    CHECK_INT(printed, 0);
    CHECK(strstr(s.first, "cannot write the rejects file: No space left on device") != NULL);
    yz_batch_summary_free(&sum);
}
