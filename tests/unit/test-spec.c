/* test-spec.c - config.json to C structures and back. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fixture.h"
#include "spec.h"

static md_spec *load_ok(const char *json)
{
    md_spec *spec = NULL;
    md_errors p = {0};
    int rc = md_spec_load_string(json, strlen(json), "config.json", &spec, &p);
    cr_assert_eq(rc, 0, "load failed: %s", p.n ? p.msgs[0] : "?");
    cr_assert_not_null(spec);
    return spec;
}

/* Load a document expected to have exactly one problem, containing needle. */
static void load_one_problem(const char *json, const char *needle)
{
    md_spec *spec = NULL;
    md_errors p = {0};
    cr_assert_eq(md_spec_load_string(json, strlen(json), "config.json", &spec, &p), -1,
                 "accepted: %s", json);
    cr_assert_eq(p.n, 1, "expected one problem for %s, got %zu (first: %s)", json, p.n,
                 p.n ? p.msgs[0] : "");
    cr_assert(strstr(p.msgs[0], needle), "\"%s\" lacks \"%s\"", p.msgs[0], needle);
    md_errors_clear(&p);
    md_spec_free(spec);
}

static char *to_json(const md_spec *spec)
{
    char *out = NULL;
    size_t len = 0;
    md_error err = {0};
    cr_assert_eq(md_spec_to_json(spec, &out, &len, &err), 0, "%s", err.msg);
    cr_assert_eq(strlen(out), len);
    return out;
}

Test(spec, umoci_rootless_fixture_is_read_whole)
{
    char *path = fx_path("umoci-rootless-httpd.json");
    md_spec *spec = NULL;
    md_errors p = {0};
    cr_assert_eq(md_spec_load_file(path, &spec, &p), 0, "%s", p.n ? p.msgs[0] : "");
    cr_assert_str_eq(spec->oci_version, "1.0.0");
    cr_assert(spec->process->terminal);
    cr_assert_eq(spec->process->user->uid, 0);
    cr_assert_str_eq(spec->process->args[0], "httpd-foreground");
    cr_assert_eq(spec->process->capabilities->n_ambient, 3);
    cr_assert_str_eq(spec->process->capabilities->ambient[2], "CAP_NET_BIND_SERVICE");
    cr_assert_eq(spec->process->n_rlimits, 1);
    cr_assert_eq(spec->process->rlimits[0].hard, 1024);
    cr_assert(spec->process->no_new_privileges);
    cr_assert_str_eq(spec->hostname, "umoci-default");
    cr_assert_eq(spec->n_mounts, 7);
    cr_assert_str_eq(spec->mounts[5].destination, "/sys");
    cr_assert_str_eq(spec->mounts[5].options[4], "ro");
    cr_assert_str_eq(
        md_kv_get(spec->annotations, spec->n_annotations, "org.opencontainers.image.stopSignal"),
        "SIGWINCH");
    cr_assert_eq(spec->linux_->uid_mappings[0].host_id, 1000);
    cr_assert_eq(spec->linux_->uid_mappings[0].size, 1);
    md_spec_free(spec);
    free(path);
}

Test(spec, round_trip_is_stable)
{
    char *text = fx_read("umoci-rootless-httpd.json", NULL);
    md_spec *a = load_ok(text);
    char *once = to_json(a);
    md_spec *b = load_ok(once);
    char *twice = to_json(b);
    cr_assert_str_eq(once, twice);
    /* Serialized with tabs, like `runc spec`, ending in a newline. */
    cr_assert(strncmp(once, "{\n\t\"ociVersion\": \"1.0.0\"", 24) == 0, "%.40s", once);
    cr_assert_eq(once[strlen(once) - 1], '\n');
    free(once);
    free(twice);
    md_spec_free(a);
    md_spec_free(b);
    free(text);
}

Test(spec, every_linux_block_round_trips)
{
    const char *json =
        "{\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"r\"},"
        "\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"],\"consoleSize\":{\"height\":25,\"width\":80},"
        "\"user\":{\"uid\":1,\"gid\":2,\"umask\":18,\"additionalGids\":[5,6]},"
        "\"oomScoreAdj\":-1000,\"ioPriority\":{\"class\":\"IOPRIO_CLASS_IDLE\",\"priority\":4},"
        "\"scheduler\":{\"policy\":\"SCHED_FIFO\",\"priority\":5,\"flags\":[\"SCHED_FLAG_RECLAIM\"]"
        "},"
        "\"execCPUAffinity\":{\"initial\":\"7\",\"final\":\"0-3\"}},"
        "\"hooks\":{\"poststop\":[{\"path\":\"/bin/x\",\"args\":[\"x\"],\"timeout\":5}]},"
        "\"linux\":{\"namespaces\":[{\"type\":\"pid\",\"path\":\"/proc/1/ns/pid\"}],"
        "\"timeOffsets\":{\"monotonic\":{\"secs\":-5,\"nanosecs\":7}},"
        "\"devices\":[{\"type\":\"c\",\"path\":\"/dev/fuse\",\"major\":10,\"minor\":229,"
        "\"fileMode\":438}],"
        "\"netDevices\":{\"eth0\":{\"name\":\"ctr0\"}},"
        "\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}],"
        "\"memory\":{\"limit\":-1,\"swappiness\":0,\"disableOOMKiller\":true},"
        "\"cpu\":{\"shares\":1024,\"quota\":-1,\"cpus\":\"0-1\",\"idle\":1},"
        "\"blockIO\":{\"weight\":10,\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":500}],"
        "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":16,\"rate\":300}]},"
        "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":18446744073709551615}],"
        "\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":500}]},"
        "\"pids\":{\"limit\":0},\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3}},"
        "\"unified\":{\"io.max\":\"8:0 rbps=1\",\"memory.high\":\"max\"}},"
        "\"intelRdt\":{\"closID\":\"g\",\"schemata\":[\"L3:0=7f0\"],\"enableMonitoring\":true},"
        "\"memoryPolicy\":{\"mode\":\"MPOL_BIND\",\"nodes\":\"0\"},"
        "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
        "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
        "\"architectures\":[\"SCMP_ARCH_X86_64\"],\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
        "\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
        "\"args\":[{\"index\":0,\"value\":1,\"valueTwo\":2,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]},"
        "\"rootfsPropagation\":\"slave\",\"maskedPaths\":[\"/proc/kcore\"],"
        "\"readonlyPaths\":[\"/proc/sys\"],\"mountLabel\":\"l\","
        "\"personality\":{\"domain\":\"LINUX32\"}}}";
    md_spec *spec = load_ok(json);
    md_linux *lx = spec->linux_;
    cr_assert_eq(spec->process->user->umask, 18);
    cr_assert(spec->process->user->has_umask);
    cr_assert_eq(spec->process->user->additional_gids[1], 6);
    cr_assert_eq(spec->process->oom_score_adj, -1000);
    cr_assert_str_eq(spec->process->io_priority->class_, "IOPRIO_CLASS_IDLE");
    cr_assert(spec->process->scheduler->has_priority);
    cr_assert_not(spec->process->scheduler->has_nice);
    cr_assert_eq(spec->hooks->poststop[0].timeout, 5);
    cr_assert_str_eq(lx->time_offsets[0].clock, "monotonic");
    cr_assert_eq(lx->time_offsets[0].secs, -5);
    cr_assert_str_eq(lx->net_devices[0].host_name, "eth0");
    cr_assert_str_eq(lx->net_devices[0].name, "ctr0");
    cr_assert_eq(lx->devices[0].file_mode, 438);
    cr_assert_not(lx->devices[0].has_uid);
    cr_assert_not(lx->resources->devices[0].allow);
    cr_assert_eq(lx->resources->memory->limit, -1);
    cr_assert(lx->resources->memory->has_swappiness);
    cr_assert_eq(lx->resources->hugepage_limits[0].limit, UINT64_MAX);
    cr_assert(lx->resources->pids->has_limit);
    cr_assert_eq(lx->resources->pids->limit, 0);
    cr_assert_str_eq(lx->resources->rdma[0].device, "mlx5_1");
    cr_assert_eq(lx->resources->n_unified, 2);
    cr_assert_str_eq(lx->resources->unified[1].key, "memory.high");
    cr_assert_eq(lx->seccomp->syscalls[0].args[0].value_two, 2);
    cr_assert(lx->intel_rdt->enable_monitoring);
    cr_assert_str_eq(lx->personality->domain, "LINUX32");

    char *once = to_json(spec);
    md_spec *again = load_ok(once);
    char *twice = to_json(again);
    cr_assert_str_eq(once, twice);
    /* Values that mean something when zero or false survive the trip. */
    cr_assert(strstr(once, "\"allow\": false"));
    cr_assert(strstr(once, "\"limit\": 0"));
    cr_assert(strstr(once, "\"swappiness\": 0"));
    cr_assert(strstr(once, "18446744073709551615"));
    free(once);
    free(twice);
    md_spec_free(spec);
    md_spec_free(again);
}

Test(spec, unknown_properties_are_ignored)
{
    md_spec *spec = load_ok("{\"ociVersion\":\"1.0.0\",\"vendorThing\":{\"deep\":[1,2]},"
                            "\"root\":{\"path\":\"rootfs\",\"extra\":true},"
                            "\"windows\":{\"layerFolders\":[]}}");
    cr_assert_str_eq(spec->root->path, "rootfs");
    char *out = to_json(spec);
    cr_assert_null(strstr(out, "vendorThing"));
    free(out);
    md_spec_free(spec);
}

Test(spec, null_reads_as_absent)
{
    md_spec *spec = load_ok("{\"ociVersion\":\"1.0.0\",\"hostname\":null,\"process\":null}");
    cr_assert_null(spec->hostname);
    cr_assert_null(spec->process);
    md_spec_free(spec);
    load_one_problem("{\"ociVersion\":null}",
                     "config.json: ociVersion: required property is missing");
}

Test(spec, wrong_types_at_every_level_name_their_path)
{
    load_one_problem("{\"ociVersion\":1}", "config.json: ociVersion: must be a string");
    load_one_problem("[]", "config.json: (document): must be an object");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"root\":\"rootfs\"}",
                     "config.json: root: must be an object");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\",\"readonly\":\"yes\"}}",
                     "config.json: root.readonly: must be true or false");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"mounts\":{}}",
                     "config.json: mounts: must be an array of objects");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"mounts\":[{\"destination\":\"/a\"},7]}",
                     "config.json: mounts[1]: must be an object");
    load_one_problem(
        "{\"ociVersion\":\"1.0.0\",\"mounts\":[{\"destination\":\"/a\",\"options\":[\"ro\",2]}]}",
        "config.json: mounts[0].options[1]: must be a string");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"process\":{\"cwd\":\"/\",\"rlimits\":"
                     "[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1},"
                     "{\"type\":\"RLIMIT_CORE\",\"soft\":-1,\"hard\":0}]}}",
                     "config.json: process.rlimits[1].soft: must be an integer from 0 to "
                     "18446744073709551615");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"process\":{\"cwd\":\"/\",\"user\":"
                     "{\"uid\":0,\"gid\":0,\"additionalGids\":[1,\"2\"]}}}",
                     "config.json: process.user.additionalGids[1]: must be an integer");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"annotations\":{\"a\":\"b\",\"c\":[]}}",
                     "config.json: annotations[\"c\"]: must be a string");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"linux\":{\"resources\":{\"rdma\":"
                     "{\"mlx\":{\"hcaHandles\":\"3\"}}}}}",
                     "config.json: linux.resources.rdma[\"mlx\"].hcaHandles: must be an integer");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"linux\":{\"seccomp\":{\"defaultAction\":"
                     "\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                     "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":5}]}]}}}",
                     "config.json: linux.seccomp.syscalls[0].args[0].op: must be a string");
}

Test(spec, required_properties)
{
    load_one_problem("{}", "config.json: ociVersion: required property is missing");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"root\":{}}",
                     "config.json: root.path: required property is missing");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"process\":{\"args\":[\"sh\"]}}",
                     "config.json: process.cwd: required property is missing");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":0}}}",
                     "config.json: process.user.gid: required property is missing");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"linux\":{\"resources\":{\"devices\":[{}]}}}",
                     "config.json: linux.resources.devices[0].allow: required property is missing");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"linux\":{\"uidMappings\":"
                     "[{\"containerID\":0,\"hostID\":1}]}}",
                     "config.json: linux.uidMappings[0].size: required property is missing");
}

Test(spec, integer_ranges_are_exact)
{
    md_spec *spec =
        load_ok("{\"ociVersion\":\"1.0.0\",\"process\":{\"cwd\":\"/\",\"user\":"
                "{\"uid\":4294967295,\"gid\":0},\"oomScoreAdj\":-2147483648,"
                "\"rlimits\":[{\"type\":\"RLIMIT_AS\",\"soft\":18446744073709551615,"
                "\"hard\":18446744073709551615}]},"
                "\"linux\":{\"resources\":{\"memory\":{\"limit\":-9223372036854775808}}}}");
    cr_assert_eq(spec->process->user->uid, UINT32_MAX);
    cr_assert_eq(spec->process->oom_score_adj, INT32_MIN);
    cr_assert_eq(spec->process->rlimits[0].soft, UINT64_MAX);
    cr_assert_eq(spec->linux_->resources->memory->limit, INT64_MIN);
    md_spec_free(spec);

    load_one_problem("{\"ociVersion\":\"1.0.0\",\"process\":{\"cwd\":\"/\",\"user\":"
                     "{\"uid\":4294967296,\"gid\":0}}}",
                     "process.user.uid: must be an integer from 0 to 4294967295");
    load_one_problem(
        "{\"ociVersion\":\"1.0.0\",\"process\":{\"cwd\":\"/\",\"oomScoreAdj\":2147483648}}",
        "process.oomScoreAdj: must be an integer from -2147483648 to 2147483647");
    load_one_problem("{\"ociVersion\":\"1.0.0\",\"process\":{\"cwd\":\"/\",\"rlimits\":"
                     "[{\"type\":\"RLIMIT_AS\",\"soft\":18446744073709551616,\"hard\":0}]}}",
                     "process.rlimits[0].soft: must be an integer");
    load_one_problem(
        "{\"ociVersion\":\"1.0.0\",\"linux\":{\"resources\":{\"blockIO\":{\"weight\":65536}}}}",
        "linux.resources.blockIO.weight: must be an integer from 0 to 65535");
    load_one_problem(
        "{\"ociVersion\":\"1.0.0\",\"linux\":{\"resources\":{\"pids\":{\"limit\":1.5}}}}",
        "linux.resources.pids.limit: must be an integer");
    load_one_problem(
        "{\"ociVersion\":\"1.0.0\",\"linux\":{\"resources\":{\"pids\":{\"limit\":1e3}}}}",
        "linux.resources.pids.limit: must be an integer");
}

Test(spec, maps_keep_document_order)
{
    md_spec *spec = load_ok("{\"ociVersion\":\"1.0.0\",\"annotations\":"
                            "{\"z\":\"1\",\"a\":\"2\",\"m\":\"\"}}");
    cr_assert_eq(spec->n_annotations, 3);
    cr_assert_str_eq(spec->annotations[0].key, "z");
    cr_assert_str_eq(spec->annotations[2].value, "");
    cr_assert_str_eq(md_kv_get(spec->annotations, spec->n_annotations, "a"), "2");
    cr_assert_null(md_kv_get(spec->annotations, spec->n_annotations, "b"));
    md_spec_free(spec);
}

Test(spec, load_file_errors_name_the_file)
{
    md_spec *spec = NULL;
    md_errors p = {0};
    cr_assert_eq(md_spec_load_file("/nonexistent/config.json", &spec, &p), -1);
    cr_assert_null(spec);
    cr_assert_str_eq(p.msgs[0], "open /nonexistent/config.json: No such file or directory");
    md_errors_clear(&p);

    char *dir = fx_tmpdir();
    cr_assert_eq(md_spec_load_file(dir, &spec, &p), -1);
    cr_assert(strstr(p.msgs[0], "Is a directory"), "%s", p.msgs[0]);
    md_errors_clear(&p);

    char *file = fx_fmt("%s/config.json", dir);
    fx_write(file, "{\"ociVersion\": 7}");
    cr_assert_eq(md_spec_load_file(file, &spec, &p), -1);
    cr_assert_str_eq(p.msgs[0], "config.json: ociVersion: must be a string");
    md_errors_clear(&p);
    md_spec_free(spec);
    fx_rmtree(dir);
    free(file);
    free(dir);
}

Test(spec, process_document_for_exec)
{
    const char *json = "{\"cwd\":\"/tmp\",\"args\":[\"ls\",\"-l\"],\"env\":[\"A=1\"],"
                       "\"user\":{\"uid\":5,\"gid\":6}}";
    md_process *proc = NULL;
    md_errors p = {0};
    cr_assert_eq(md_process_load_string(json, strlen(json), "process.json", &proc, &p), 0);
    cr_assert_str_eq(proc->args[1], "-l");
    char *out = NULL;
    md_error err = {0};
    cr_assert_eq(md_process_to_json(proc, &out, NULL, &err), 0);
    cr_assert(strstr(out, "\"cwd\": \"/tmp\""));
    free(out);
    md_process_free(proc);

    cr_assert_eq(md_process_load_string("{\"args\":[]}", 11, "process.json", &proc, &p), -1);
    cr_assert_str_eq(p.msgs[0], "process.json: cwd: required property is missing");
    md_errors_clear(&p);
    md_process_free(proc);
}

Test(spec, string_vector_helpers)
{
    char **v = NULL;
    size_t n = 0;
    cr_assert_eq(md_strv_push(&v, &n, "a"), 0);
    cr_assert_eq(md_strv_push(&v, &n, "b"), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(v[1], "b");
    md_strv_free(v, n);
}

Test(spec, resources_merge_moves_what_is_set)
{
    const char *base = "{\"memory\":{\"limit\":100,\"swap\":200},\"pids\":{\"limit\":5},"
                       "\"cpu\":{\"cpus\":\"0\"},\"unified\":{\"a.b\":\"1\"}}";
    const char *change = "{\"memory\":{\"limit\":300},\"cpu\":{\"cpus\":\"1\",\"quota\":5000},"
                         "\"blockIO\":{\"weight\":50},\"unified\":{\"c.d\":\"2\"}}";
    md_resources *dst = NULL, *src = NULL;
    md_errors p = {0};
    cr_assert_eq(md_resources_load_string(base, strlen(base), "r.json", &dst, &p), 0);
    cr_assert_eq(md_resources_load_string(change, strlen(change), "r.json", &src, &p), 0);
    md_resources_merge(dst, src);
    cr_assert_eq(dst->memory->limit, 300);
    cr_assert_eq(dst->memory->swap, 200, "an unset value keeps the old one");
    cr_assert_eq(dst->pids->limit, 5);
    cr_assert_str_eq(dst->cpu->cpus, "1");
    cr_assert(dst->cpu->has_quota);
    cr_assert_eq(dst->cpu->quota, 5000);
    cr_assert_not_null(dst->block_io, "a new object is moved over");
    cr_assert_eq(dst->block_io->weight, 50);
    cr_assert_eq(dst->n_unified, 1, "a map is replaced whole");
    cr_assert_str_eq(dst->unified[0].key, "c.d");
    cr_assert_null(src->block_io);
    md_resources_free(src);
    md_resources_free(dst);
}
