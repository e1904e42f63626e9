/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the pure parts: FpbQmpStream, FpbQmpMessage, the checked
 * JSON accessors. */
#include <string.h>

#include "fpb-qmp.h"
#include "fpb-qmp-message.h"
#include "fpb-qmp-stream.h"
#include "qmp-test-util.h"

/* The server-to-client messages of a recording, as QEMU framed them. */
static GString *recorded_stream(const char *name, guint *ret_count)
{
    g_autofree char *path = qmp_test_recording_path(name);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    GString *stream = g_string_new(NULL);

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    *ret_count = 0;
    for (guint i = 0; lines[i] != NULL; i++) {
        g_autoptr(json_object) line = json_tokener_parse(lines[i]);
        json_object *dir = NULL;
        json_object *msg = NULL;

        if (line == NULL || !json_object_object_get_ex(line, "dir", &dir) ||
            !g_str_equal(json_object_get_string(dir), "s2c")) {
            continue;
        }
        g_assert_true(json_object_object_get_ex(line, "msg", &msg));
        g_string_append_printf(stream, "%s\r\n", json_object_to_json_string(msg));
        (*ret_count)++;
    }
    return stream;
}

static void feed_in_chunks(const char *name, gsize chunk)
{
    guint expected = 0;
    g_autoptr(GString) bytes = recorded_stream(name, &expected);
    g_autoptr(FpbQmpStream) stream = fpb_qmp_stream_new(FPB_QMP_STREAM_MAX_MESSAGE_DEFAULT);
    g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(fpb_qmp_json_unref);
    g_autoptr(GError) error = NULL;

    for (gsize off = 0; off < bytes->len; off += chunk) {
        g_assert_true(fpb_qmp_stream_feed(stream, bytes->str + off, MIN(chunk, bytes->len - off),
                                          messages, &error));
        g_assert_no_error(error);
    }
    g_assert_cmpuint(messages->len, ==, expected);
    g_assert_false(fpb_qmp_stream_in_message(stream));
    for (guint i = 0; i < messages->len; i++) {
        FpbQmpMessage m;

        g_assert_true(fpb_qmp_message_parse(messages->pdata[i], &m, &error));
        g_assert_no_error(error);
    }
}

static void test_stream_one_byte(void)
{
    const char *names[] = {"queries.jsonl", "errors.jsonl", "events.jsonl", "migration.jsonl",
                           "incoming.jsonl"};

    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        feed_in_chunks(names[i], 1);
        feed_in_chunks(names[i], 7);
    }
}

static void test_stream_merged(void)
{
    feed_in_chunks("migration.jsonl", G_MAXSIZE / 2);
}

static gboolean feed(FpbQmpStream *stream, const char *text, GPtrArray *messages, GError **error)
{
    return fpb_qmp_stream_feed(stream, text, strlen(text), messages, error);
}

static void test_stream_garbage(void)
{
    /* json-c accepts 'single quotes' and NaN even when strict; QEMU sends
     * neither, and they do no harm, so they are not tested as garbage. */
    const char *bad[] = {"hello\r\n",    "{\"return\": }", "{\"a\": 1}}", "{\"a\" 1}",
                         "{\"a\": nan}", "{\"a\": 1,}",    "\xff\xfe{}",  "{\"a\": \"\xc3\x28\"}",
                         "{\"a\": tru}", "{\"a\": 01}"};

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(FpbQmpStream) stream = fpb_qmp_stream_new(1024);
        g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(fpb_qmp_json_unref);
        g_autoptr(GError) error = NULL;

        g_autofree char *escaped = g_strescape(bad[i], NULL);

        g_test_message("input %s", escaped);
        g_assert_false(feed(stream, bad[i], messages, &error));
        g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
        g_clear_error(&error);
        /* Once broken, always broken. */
        g_assert_false(feed(stream, "{}", messages, &error));
        g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
    }
}

static void test_stream_before_garbage(void)
{
    g_autoptr(FpbQmpStream) stream = fpb_qmp_stream_new(1024);
    g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(fpb_qmp_json_unref);
    g_autoptr(GError) error = NULL;

    g_assert_false(feed(stream, "{\"return\": {}}\r\n{\"event\": \"STOP\"}xyz", messages, &error));
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
    g_assert_cmpuint(messages->len, ==, 2);
}

static void test_stream_not_object(void)
{
    const char *bad[] = {"[1, 2]\r\n", "\"text\"\r\n", "true\r\n", "null\r\n", "12 "};

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(FpbQmpStream) stream = fpb_qmp_stream_new(1024);
        g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(fpb_qmp_json_unref);
        g_autoptr(GError) error = NULL;

        g_assert_false(feed(stream, bad[i], messages, &error));
        g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
        g_assert_nonnull(strstr(error->message, "not a JSON object"));
    }
}

static void test_stream_cap(void)
{
    g_autoptr(FpbQmpStream) ok = fpb_qmp_stream_new(16);
    g_autoptr(FpbQmpStream) big = fpb_qmp_stream_new(16);
    g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(fpb_qmp_json_unref);
    g_autoptr(GError) error = NULL;

    /* 16 bytes exactly, twice: fine, the cap is per message. */
    g_assert_true(feed(ok, "{\"a\": \"123456\"}\n{\"a\": \"123456\"}\n", messages, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(messages->len, ==, 2);
    g_assert_true(feed(big, "{\"a\": \"1234", messages, &error));
    g_assert_false(feed(big, "5678\"}", messages, &error));
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
    g_assert_nonnull(strstr(error->message, "exceeds the limit of 16 bytes"));
}

static void test_stream_in_message(void)
{
    g_autoptr(FpbQmpStream) stream = fpb_qmp_stream_new(1024);
    g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(fpb_qmp_json_unref);

    g_assert_true(feed(stream, "\r\n  ", messages, NULL));
    g_assert_false(fpb_qmp_stream_in_message(stream));
    g_assert_true(feed(stream, "{\"ret", messages, NULL));
    g_assert_true(fpb_qmp_stream_in_message(stream));
    g_assert_true(feed(stream, "urn\": {}}\r\n", messages, NULL));
    g_assert_false(fpb_qmp_stream_in_message(stream));
    g_assert_cmpuint(messages->len, ==, 1);
}

static void test_stream_deep(void)
{
    g_autoptr(FpbQmpStream) stream = fpb_qmp_stream_new(1024 * 1024);
    g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(fpb_qmp_json_unref);
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) deep = g_string_new("{\"a\":");

    for (int i = 0; i < 10000; i++) {
        g_string_append_c(deep, '[');
    }
    g_assert_false(feed(stream, deep->str, messages, &error));
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
}

static gboolean classify(const char *text, FpbQmpMessage *m, GError **error)
{
    g_autoptr(json_object) obj = json_tokener_parse(text);

    g_assert_nonnull(obj);
    /* Borrowed pointers die with obj: tests only look at kind and numbers. */
    return fpb_qmp_message_parse(obj, m, error);
}

static void test_message_kinds(void)
{
    FpbQmpMessage m;

    g_assert_true(classify("{\"QMP\": {\"version\": {}}}", &m, NULL));
    g_assert_cmpint(m.kind, ==, FPB_QMP_MESSAGE_GREETING);
    g_assert_true(classify("{\"return\": 1, \"id\": \"fpb-1\"}", &m, NULL));
    g_assert_cmpint(m.kind, ==, FPB_QMP_MESSAGE_RETURN);
    g_assert_true(
        classify("{\"id\": 3, \"error\": {\"class\": \"C\", \"desc\": \"d\"}}", &m, NULL));
    g_assert_cmpint(m.kind, ==, FPB_QMP_MESSAGE_ERROR);
    g_assert_true(classify("{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 2, "
                           "\"microseconds\": 5}}",
                           &m, NULL));
    g_assert_cmpint(m.kind, ==, FPB_QMP_MESSAGE_EVENT);
    g_assert_cmpint(m.timestamp_us, ==, 2000005);
}

/* The client's ids are bare integers; anything else is someone else's. */
static void test_message_id(void)
{
    const char *other[] = {"\"7\"", "\"fpb-7\"", "7.0", "8", "-7", "18446744073709551615",
                           "null",  "[7]"};

    for (gsize i = 0; i < G_N_ELEMENTS(other); i++) {
        g_autoptr(json_object) id = json_tokener_parse(other[i]);

        g_assert_false(fpb_qmp_message_id_equals(id, 7));
    }
    {
        g_autoptr(json_object) id = json_tokener_parse("7");

        g_assert_true(fpb_qmp_message_id_equals(id, 7));
        g_assert_false(fpb_qmp_message_id_equals(id, G_MAXUINT64));
    }
}

static void test_message_bad_shapes(void)
{
    const char *bad[] = {
        "{}",
        "{\"QMP\": 1}",
        "{\"error\": \"oops\"}",
        "{\"error\": {\"class\": \"C\"}}",
        "{\"error\": {\"class\": 1, \"desc\": \"d\"}}",
        "{\"event\": 7}",
        "{\"event\": \"STOP\", \"data\": [1]}",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        FpbQmpMessage m;

        g_test_message("message %s", bad[i]);
        g_assert_false(classify(bad[i], &m, &error));
        g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
    }
}

static void test_message_timestamp(void)
{
    const char *bad[] = {
        "{\"event\": \"X\"}",
        "{\"event\": \"X\", \"timestamp\": {\"seconds\": -1, \"microseconds\": -1}}",
        "{\"event\": \"X\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 1000000}}",
        ("{\"event\": \"X\", \"timestamp\": {\"seconds\": 99999999999999999, "
         "\"microseconds\": 0}}"),
        "{\"event\": \"X\", \"timestamp\": \"now\"}",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        FpbQmpMessage m;

        g_assert_true(classify(bad[i], &m, NULL));
        g_assert_cmpint(m.timestamp_us, ==, -1);
    }
}

static void test_json_uint(void)
{
    g_autoptr(json_object) obj = json_tokener_parse(
        "{\"max\": 18446744073709551615, \"neg\": -1, \"big\": 18446744073709551616, "
        "\"dbl\": 1.5, \"str\": \"1\", \"i64\": 9223372036854775807, "
        "\"above\": 9223372036854775808}");
    g_autoptr(GError) error = NULL;
    guint64 u = 0;
    gint64 i = 0;

    g_assert_true(fpb_qmp_json_get_uint(obj, "t", "max", G_MAXUINT64, &u, &error));
    g_assert_cmpuint(u, ==, G_MAXUINT64);
    g_assert_false(fpb_qmp_json_get_uint(obj, "t", "max", G_MAXINT64, &u, &error));
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
    g_clear_error(&error);
    g_assert_false(fpb_qmp_json_get_uint(obj, "t", "neg", G_MAXUINT64, &u, &error));
    g_assert_nonnull(strstr(error->message, "out of range"));
    g_clear_error(&error);
    /* json-c saturates integers beyond 64 bits; nothing to detect there. */
    g_assert_true(fpb_qmp_json_get_uint(obj, "t", "big", G_MAXUINT64, &u, &error));
    g_assert_cmpuint(u, ==, G_MAXUINT64);
    g_assert_false(fpb_qmp_json_get_uint(obj, "t", "dbl", G_MAXUINT64, &u, &error));
    g_clear_error(&error);
    g_assert_false(fpb_qmp_json_get_uint(obj, "t", "str", G_MAXUINT64, &u, &error));
    g_assert_nonnull(strstr(error->message, "field 'str' is a string, expected a int"));
    g_clear_error(&error);
    g_assert_false(fpb_qmp_json_get_uint(obj, "t", "missing", G_MAXUINT64, &u, &error));
    g_assert_nonnull(strstr(error->message, "t: field 'missing' is missing"));
    g_clear_error(&error);
    g_assert_true(fpb_qmp_json_get_int(obj, "t", "i64", 0, G_MAXINT64, &i, &error));
    g_assert_cmpint(i, ==, G_MAXINT64);
    g_assert_false(fpb_qmp_json_get_int(obj, "t", "above", 0, G_MAXINT64, &i, &error));
    g_clear_error(&error);
    g_assert_false(fpb_qmp_json_get_int(obj, "t", "neg", 0, 10, &i, &error));
    g_assert_cmpint(i, ==, G_MAXINT64); /* untouched on failure */
}

static void test_json_other_types(void)
{
    g_autoptr(json_object) obj = json_tokener_parse(
        "{\"b\": true, \"s\": \"x\", \"v\": [\"a: desc\", \"b\"], \"bad\": [\"a\", 1], "
        "\"n\": null, \"d\": 2.5, \"di\": 3}");
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) strv = NULL;
    gboolean b = FALSE;
    double d = 0;

    g_assert_true(fpb_qmp_json_get_bool(obj, "t", "b", &b, &error));
    g_assert_true(b);
    g_assert_false(fpb_qmp_json_get_bool(obj, "t", "s", &b, &error));
    g_clear_error(&error);
    g_assert_true(fpb_qmp_json_get_strv(obj, "t", "v", &strv, &error));
    g_assert_cmpuint(g_strv_length(strv), ==, 2);
    g_assert_false(fpb_qmp_json_get_strv(obj, "t", "bad", &strv, &error));
    g_clear_error(&error);
    g_assert_false(fpb_qmp_json_has(obj, "n"));
    g_assert_false(fpb_qmp_json_get_bool(obj, "t", "n", &b, &error));
    g_clear_error(&error);
    g_assert_true(fpb_qmp_json_get_double(obj, "t", "d", &d, &error));
    g_assert_cmpfloat(d, ==, 2.5);
    g_assert_true(fpb_qmp_json_get_double(obj, "t", "di", &d, &error));
    g_assert_cmpfloat(d, ==, 3.0);
    g_assert_false(fpb_qmp_json_get_double(obj, "t", "s", &d, &error));
    g_clear_error(&error);
    g_assert_false(fpb_qmp_json_has(NULL, "x"));
    g_assert_false(fpb_qmp_json_get_bool(NULL, "t", "b", &b, &error));
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/stream/one-byte-reads", test_stream_one_byte);
    g_test_add_func("/qmp/stream/merged-reads", test_stream_merged);
    g_test_add_func("/qmp/stream/garbage", test_stream_garbage);
    g_test_add_func("/qmp/stream/messages-before-garbage", test_stream_before_garbage);
    g_test_add_func("/qmp/stream/not-object", test_stream_not_object);
    g_test_add_func("/qmp/stream/size-cap", test_stream_cap);
    g_test_add_func("/qmp/stream/in-message", test_stream_in_message);
    g_test_add_func("/qmp/stream/too-deep", test_stream_deep);
    g_test_add_func("/qmp/message/kinds", test_message_kinds);
    g_test_add_func("/qmp/message/id", test_message_id);
    g_test_add_func("/qmp/message/bad-shapes", test_message_bad_shapes);
    g_test_add_func("/qmp/message/bad-timestamp", test_message_timestamp);
    g_test_add_func("/qmp/json/integers", test_json_uint);
    g_test_add_func("/qmp/json/other-types", test_json_other_types);
    return g_test_run();
}
