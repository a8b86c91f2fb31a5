import * as assert from "assert";
import { validateInputs } from "../../sdk/providers/deltaDeploymentInputs";
import { sudoRefusal } from "../../sdk/transport/sudo";
import { execFileSync } from "child_process";
import { accountIdsScript, chownFailure, chownScript, NO_SUCH_GROUP, NO_SUCH_USER, parseAccountIds } from "../../sdk/transport/shell";

const base = { name: "site", source: "/src", kind: "file" as const, destination: "/etc/nginx/conf.d/app.conf", onDestroy: "restore" as const, manifestDigest: "d", fileCount: 1, totalBytes: 1 };

describe("become, owner and group inputs", () => {
    const table: [string, Record<string, unknown>, string[]][] = [
        ["all valid", { become: "sudo", owner: "www-data", group: "0" }, []],
        ["become other than sudo", { become: "su" }, ['become must be "sudo" (act as root through sudo -n when the login user is not root), got "su"; omit it to act as the login user']],
        ["owner with a colon", { owner: "root:root" }, ['owner must be a user name or numeric id on the host such as "www-data" or "0" (no ":"; set group apart), got "root:root"']],
        ["group not a string", { group: 5 }, ['group must be a group name or numeric id on the host such as "www-data" or "0" (no ":"; set owner apart), got 5']],
    ];
    for (const [what, extra, reasons] of table) {
        it(what, () => {
            const got = validateInputs({ ...base, ...extra } as Parameters<typeof validateInputs>[0]).map((f) => f.reason);
            assert.deepStrictEqual(got, reasons);
        });
    }
});

describe("sudo refusals", () => {
    const table: [string, string, number | null, string | undefined][] = [
        ["password required", "sudo: a password is required\n", 1, 'user deploy cannot run sudo without a password on deploy@h:22; add a NOPASSWD sudoers entry (e.g. "deploy ALL=(root) NOPASSWD: ALL" in /etc/sudoers.d/) or connect as root'],
        ["not installed", "sh: 1: sudo: not found\n", 127, "sudo is not installed on deploy@h:22; install it there (e.g. apt-get install sudo) or connect as root"],
        ["not allowed", "sudo: deploy is not allowed to execute '/bin/sh -s' as root on h.\n", 1, "user deploy may not run sudo on deploy@h:22 (sudo: deploy is not allowed to execute '/bin/sh -s' as root on h.); add a NOPASSWD sudoers entry for deploy or connect as root"],
        ["a command's own failure", "mv: cannot stat 'x': No such file or directory\n", 1, undefined],
    ];
    for (const [what, output, code, expected] of table) it(what, () => assert.strictEqual(sudoRefusal(output, code, "deploy", "deploy@h:22"), expected));
});

describe("chown script", () => {
    it("checks names before chown, takes numeric ids as given, quotes every word", () => {
        assert.strictEqual(
            chownScript("/etc/it's.conf", "www-data", "adm"),
            "id -u 'www-data' >/dev/null 2>&1 || exit 67; if command -v getent >/dev/null 2>&1; then getent group 'adm' >/dev/null 2>&1 || exit 68; fi; chown -h 'www-data:adm' '/etc/it'\\''s.conf'",
        );
        assert.strictEqual(chownScript("/x", "0", undefined), "chown -h '0' '/x'");
        assert.strictEqual(chownScript("/x", undefined, "0"), "chown -h ':0' '/x'");
    });
    it("names the missing user or group", () => {
        assert.strictEqual(chownFailure(NO_SUCH_USER, "", "www", undefined), 'no such user "www" on the host; create it there or set owner to an existing user');
        assert.strictEqual(chownFailure(NO_SUCH_GROUP, "", undefined, "web"), 'no such group "web" on the host; create it there or set group to an existing group');
        assert.strictEqual(chownFailure(1, "chown: changing ownership of '/x': Operation not permitted\n", "www", undefined), "chown: changing ownership of '/x': Operation not permitted");
    });
});

describe("account ids script", () => {
    /** The script as /bin/sh runs it here: exit code and output. */
    function run(owner: string | undefined, group: string | undefined): { code: number; out: string } {
        try {
            return { code: 0, out: execFileSync("sh", ["-c", accountIdsScript(owner, group)], { encoding: "utf8" }) };
        } catch (err) {
            return { code: (err as { status: number }).status, out: "" };
        }
    }
    it("prints uid and gid of names and numbers, - for a part not asked for", () => {
        assert.deepStrictEqual(parseAccountIds(run("root", "root").out), { uid: 0, gid: 0 });
        assert.deepStrictEqual(parseAccountIds(run("1234", undefined).out), { uid: 1234 });
        assert.deepStrictEqual(parseAccountIds(run(undefined, "0").out), { gid: 0 });
        const nobody = Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" }));
        assert.deepStrictEqual(parseAccountIds(run("nobody", undefined).out), { uid: nobody });
    });
    it("exits with the code that names the missing user or group", () => {
        assert.strictEqual(run("pd-no-such-user", "root").code, NO_SUCH_USER);
        assert.strictEqual(run("root", "pd-no-such-group").code, NO_SUCH_GROUP);
    });
    it("quotes names", () => {
        assert.strictEqual(accountIdsScript("a'b", undefined), "u=$(id -u 'a'\\''b' 2>/dev/null) || exit 67; g=-; echo \"$u $g\"");
        assert.strictEqual(parseAccountIds("garbage"), undefined);
    });
});
