import * as assert from "assert";
import { FatalDialError, greetingFailure, isFinal, refused, UnreachableDialError } from "../../sdk/transport/dialFailure";

const lost = Object.assign(new Error("Connection lost before handshake"), { level: "protocol" });
const timedOut = Object.assign(new Error("Timed out while waiting for handshake"), { level: "client-timeout" });
const CHECK = "check connection.proxy.host and connection.proxy.port";
const WAIT = "(to wait for a host that is still starting, set connection.proxy.dialErrorLimit)";

describe("dial failures", () => {
    const cases: [string, string, Error, (new (m: string) => Error) | undefined, string | undefined][] = [
        ["an SSH greeting: the client's own error says more", "SSH-2.0-OpenSSH_9.2\r\n", lost, undefined, undefined],
        ["lines before the greeting are allowed (RFC 4253)", "welcome\r\nSSH-2.0-x\r\n", lost, undefined, undefined],
        ["silence until the timeout: a slow host, dialed again", "", timedOut, undefined, undefined],
        ["closed without a word", "", lost, UnreachableDialError, `the server closed the connection without an SSH greeting: it does not speak SSH, or turned this machine away; ${CHECK} ${WAIT}`],
        ["another protocol, closed", "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n", lost, FatalDialError, `the server does not speak SSH: it answered "HTTP/1.1 400 Bad Request" where an SSH server sends "SSH-2.0-…"; ${CHECK}`],
        ["another protocol, waiting", "\r\n220 mail ESMTP\r\n", timedOut, FatalDialError, `the server does not speak SSH: it sent "220 mail ESMTP" where an SSH server sends "SSH-2.0-…"; ${CHECK}`],
        ["a long line is cut", "x".repeat(100), lost, FatalDialError, `the server does not speak SSH: it answered "${"x".repeat(60)}…" where an SSH server sends "SSH-2.0-…"; ${CHECK}`],
        ["sshd busy: dialed again", "Exceeded MaxStartups\r\n", lost, Error, `the SSH server turned the connection away for now: "Exceeded MaxStartups"`],
    ];
    for (const [what, received, err, kind, message] of cases) {
        it(what, () => {
            const f = greetingFailure(Buffer.from(received, "latin1"), err, "connection.proxy");
            if (!kind) return assert.strictEqual(f, undefined);
            assert.ok(f, "expected a failure");
            assert.strictEqual(f.constructor, kind);
            assert.strictEqual(f.message, message);
        });
    }

    it("a refusal ends the dialing unless dialErrorLimit was set; a fatal failure always; others never", () => {
        assert.deepStrictEqual(
            [refused("connection"), new FatalDialError("x"), new Error("timed out")].map((e) => [isFinal(e, false), isFinal(e, true)]),
            [[true, false], [true, true], [false, false]],
        );
    });
});
