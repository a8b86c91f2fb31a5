import * as assert from "assert";
import { joinSecrets, splitSecrets, UNKNOWN, validateConnection } from "../../sdk/connection";
import { DeltaDeploymentProviderInputs, validateInputs } from "../../sdk/providers/deltaDeploymentInputs";
import { fingerprint } from "../../sdk/transport/hostKeys";
import { ed25519Line } from "../helpers/keys";

/** A placeholder in the shape of a key's text (assembled, so no key-looking text sits in the repository). */
const KEY = ["-----BEGIN", "OPENSSH", "PRIVATE", "KEY-----\nabc\n-----END", "OPENSSH", "PRIVATE", "KEY-----\n"].join(" ");

/** A real key's line and fingerprint, made at run time. */
const HOST_KEY = ed25519Line();
const FP = fingerprint(Buffer.from(HOST_KEY.split(" ")[1], "base64"));

/** What every hostKey problem ends with. */
const pinFix = (scan: string) =>
    `give the host's public-key line, e.g. "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA…" as \`${scan}\` prints it, or its fingerprint, e.g. "SHA256:" and 43 characters as \`${scan} | ssh-keygen -lf -\` prints it`;

describe("validateConnection", () => {
    const cases: [string, unknown, string[]][] = [
        ["a good connection", { host: "10.0.0.5", port: 2222, user: "deploy", privateKey: KEY, hostKey: FP }, []],
        ["a pinned key line, for the target and its proxy", { host: "h", hostKey: `h ${HOST_KEY}`, proxy: { host: "b", hostKey: HOST_KEY } }, []],
        ["a hostKey unknown during preview", { host: "h", hostKey: UNKNOWN }, []],
        [
            "a malformed hostKey, for the target and its proxy",
            { host: "10.0.0.5", port: 2222, hostKey: "ssh-ed25519 AAAAC3Nza", proxy: { host: "bastion", hostKey: "SHA256:abc" } },
            [
                `connection.hostKey "ssh-ed25519 AAAAC3Nza" is not a usable host key: the text after ssh-ed25519 is not the base64 of an SSH public key; ${pinFix("ssh-keyscan -t ed25519 -p 2222 10.0.0.5")}`,
                `connection.proxy.hostKey "SHA256:abc" is not a usable host key: a SHA256 fingerprint has 43 base64 characters after "SHA256:", this one has 3; ${pinFix("ssh-keyscan -t ed25519 bastion")}`,
            ],
        ],
        ["unknown values during preview", { host: UNKNOWN, port: UNKNOWN }, []],
        ["no host", { user: "x" }, ["connection.host is required: the host name or IP address to connect to"]],
        [
            "several problems at once",
            { host: "", port: 70000, perDialTimeout: 0, dialErrorLimit: 1.5, insecureIgnoreHostKey: "yes", privateKey: "~/.ssh/id_ed25519", colour: "blue" },
            [
                "connection.colour is not a connection field; the fields are host, port, user, password, privateKey, privateKeyPassword, agentSocketPath, hostKey, insecureIgnoreHostKey, proxy, dialErrorLimit, perDialTimeout",
                `connection.host must be a non-empty string, got ""`,
                "connection.port must be a TCP port between 1 and 65535, got 70000",
                "connection.dialErrorLimit must be a whole number of dials (-1 retries forever), got 1.5",
                "connection.perDialTimeout must be a number of seconds above 0, got 0",
                `connection.insecureIgnoreHostKey must be true or false, got "yes"`,
                `connection.privateKey must be the key's text (-----BEGIN … PRIVATE KEY-----), not a path; read it with fs.readFileSync(path, "utf8")`,
            ],
        ],
        ["a password is never echoed", { host: "h", password: 42 }, ["connection.password must be a non-empty string, got a number"]],
        ["contradiction", { host: "h", hostKey: FP, insecureIgnoreHostKey: true }, ["connection.hostKey and connection.insecureIgnoreHostKey: true contradict each other; keep only hostKey"]],
        ["a proxy is checked too", { host: "h", proxy: { port: 0 } }, ["connection.proxy.host is required: the host name or IP address to connect to", "connection.proxy.port must be a TCP port between 1 and 65535, got 0"]],
    ];
    for (const [what, input, expected] of cases) it(what, () => assert.deepStrictEqual(validateConnection(input), expected));

    it("splits secrets off and joins them back", () => {
        const c = { host: "h", user: "u", privateKey: KEY, proxy: { host: "b", password: "pw" } };
        const { connection, secrets } = splitSecrets(c);
        assert.deepStrictEqual(connection, { host: "h", user: "u", proxy: { host: "b" } });
        assert.deepStrictEqual(secrets, { privateKey: KEY, proxy: { password: "pw" } });
        assert.deepStrictEqual(joinSecrets(connection, secrets), c);
    });
});

describe("validateInputs", () => {
    const good: Partial<DeltaDeploymentProviderInputs> = { source: "/src", destination: "/srv/www/site", onDestroy: "restore" };
    const cases: [string, Partial<DeltaDeploymentProviderInputs>, { property: string; reason: string }[]][] = [
        ["good inputs", good, []],
        ["unknowns", { source: UNKNOWN, destination: UNKNOWN, onDestroy: UNKNOWN as never }, []],
        [
            "every problem at once",
            { ...good, destination: "srv/www", onDestroy: "delete" as never, stateDir: "state", exclude: ["/abs", "[a-"] },
            [
                { property: "destination", reason: `destination must be an absolute path on the host such as "/srv/www/site", got "srv/www"` },
                { property: "onDestroy", reason: `onDestroy must be one of "restore", "remove", "retain", got "delete"` },
                { property: "stateDir", reason: `stateDir must be an absolute path on the host (or start with "~/"), e.g. "/var/lib/pulumi-delta", got "state"` },
                { property: "exclude", reason: `exclude[1] "[a-" is not a valid pattern: the "[" at offset 0 is never closed by "]" (escape it with a backslash to match a literal "["); fix or remove it` },
            ],
        ],
        ["root as destination", { ...good, destination: "/" }, [{ property: "destination", reason: `destination "/" must be a normalized path below "/" without "..", "." or a trailing "/", e.g. "/srv/site"` }]],
        ["a dotted destination", { ...good, destination: "/srv/../etc/" }, [{ property: "destination", reason: `destination "/srv/../etc/" must be a normalized path below "/" without "..", "." or a trailing "/", e.g. "/etc"` }]],
        [
            "state inside the destination",
            { ...good, stateDir: "/srv/www/site/.state" },
            [{ property: "stateDir", reason: `stateDir "/srv/www/site/.state" and destination "/srv/www/site" overlap; keep deployment metadata outside what services read, e.g. "/var/lib/pulumi-delta"` }],
        ],
        ["connection problems name the connection", { ...good, connection: { host: "h", port: -1 } }, [{ property: "connection", reason: "connection.port must be a TCP port between 1 and 65535, got -1" }]],
        ["every symlinks policy and both mtime settings", { ...good, symlinks: "follow", preserveMtimes: false }, []],
        [
            "a symlinks policy and a preserveMtimes that are not",
            { ...good, symlinks: "keep" as never, preserveMtimes: "yes" as never },
            [
                { property: "symlinks", reason: `symlinks must be one of "preserve", "follow", "refuse", got "keep"; omit it to deploy symlinks as symlinks ("preserve")` },
                { property: "preserveMtimes", reason: `preserveMtimes must be true or false, got "yes"; omit it to keep the source's mtimes` },
            ],
        ],
    ];
    for (const [what, input, expected] of cases) it(what, () => assert.deepStrictEqual(validateInputs(input), expected));
});
