import * as assert from "assert";
import { ClosedDuringHandshake, FatalDialError, greetingFailure, isFinal, quoteBytes, refused, UnreachableDialError } from "../../sdk/transport/dialFailure";

const lost = Object.assign(new Error("Connection lost before handshake"), { level: "protocol" });
const reset = Object.assign(new Error("read ECONNRESET"), { level: "client-socket", code: "ECONNRESET" });
const closed = new ClosedDuringHandshake();
const timedOut = Object.assign(new Error("Timed out while waiting for handshake"), { level: "client-timeout" });
const refusedKex = Object.assign(new Error("Handshake failed: no matching key exchange algorithm"), { level: "handshake" });
const target = { where: "10.0.0.5:2222", prefix: "connection.proxy", timeoutS: 15 };
const CHECK = "check connection.proxy.host and connection.proxy.port";
const CUT = "a firewall or relay on the way cut it, or sshd dropped it (MaxStartups, LoginGraceTime, a ban such as fail2ban)";
const BEFORE_FIX = `${CHECK} and the log of sshd there (it says why it dropped a connection); to dial again while the drops last, set connection.proxy.dialErrorLimit`;

describe("dial failures", () => {
    const cases: [string, string, Error, (new (m: string) => Error) | undefined, string | undefined][] = [
        ["an SSH greeting, then the key exchange refused: the client's own error says more", "SSH-2.0-OpenSSH_9.2\r\n", refusedKex, undefined, undefined],
        ["lines before the greeting are allowed (RFC 4253)", "welcome\r\nSSH-2.0-x\r\n", refusedKex, undefined, undefined],
        // (b) a cut, not another protocol
        ["closed before any byte", "", lost, UnreachableDialError, `the connection to 10.0.0.5:2222 was closed during the SSH handshake, before the server sent its greeting: ${CUT}; ${BEFORE_FIX}`],
        ["closed (ssh2's plain close) before any byte", "", closed, UnreachableDialError, `the connection to 10.0.0.5:2222 was closed during the SSH handshake, before the server sent its greeting: ${CUT}; ${BEFORE_FIX}`],
        ["reset before any byte", "", reset, UnreachableDialError, `the connection to 10.0.0.5:2222 was reset during the SSH handshake, before the server sent its greeting: ${CUT}; ${BEFORE_FIX}`],
        ["closed partway through the greeting", "SS", closed, Error, `the connection to 10.0.0.5:2222 was closed during the SSH handshake, partway through the server's greeting (it had sent "SS"): ${CUT}`],
        ["closed after the greeting", "SSH-2.0-OpenSSH_9.2\r\n", closed, Error, `the connection to 10.0.0.5:2222 was closed during the SSH handshake, after the server's greeting "SSH-2.0-OpenSSH_9.2": ${CUT}`],
        ["reset after the greeting and a banner line", "welcome\r\nSSH-2.0-x\r\n", reset, Error, `the connection to 10.0.0.5:2222 was reset during the SSH handshake, after the server's greeting "SSH-2.0-x": ${CUT}`],
        // (c) timeouts
        ["silence until the timeout: a slow host, dialed again", "", timedOut, Error, "the SSH handshake with 10.0.0.5:2222 did not start within 15s: the server sent nothing (a slow or overloaded host, or a firewall that holds the connection open)"],
        ["a greeting, then silence", "SSH-2.0-OpenSSH_9.2\r\n", timedOut, Error, `the SSH handshake with 10.0.0.5:2222 did not finish within 15s, after the server's greeting "SSH-2.0-OpenSSH_9.2" (a slow or overloaded host, or a link that stalls)`],
        // (a) another protocol
        ["another protocol, closed", "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n", lost, FatalDialError, `the server does not speak SSH: it answered "HTTP/1.1 400 Bad Request" where an SSH server sends "SSH-2.0-…"; ${CHECK}`],
        ["another protocol, reset", "HTTP/1.1 400 Bad Request\r\n", reset, FatalDialError, `the server does not speak SSH: it answered "HTTP/1.1 400 Bad Request" where an SSH server sends "SSH-2.0-…"; ${CHECK}`],
        ["another protocol, waiting", "\r\n220 mail ESMTP\r\n", timedOut, FatalDialError, `the server does not speak SSH: it sent "220 mail ESMTP" where an SSH server sends "SSH-2.0-…"; ${CHECK}`],
        ["binary bytes are escaped", "\x15\x03\x01\x00\x02\x02\x46", lost, FatalDialError, `the server does not speak SSH: it answered "\\x15\\x03\\x01\\x00\\x02\\x02F" where an SSH server sends "SSH-2.0-…"; ${CHECK}`],
        ["a long line is cut", "x".repeat(100), lost, FatalDialError, `the server does not speak SSH: it answered "${"x".repeat(60)}…" where an SSH server sends "SSH-2.0-…"; ${CHECK}`],
        ["sshd busy: dialed again", "Exceeded MaxStartups\r\n", lost, Error, `the SSH server turned the connection away for now: "Exceeded MaxStartups"`],
    ];
    for (const [what, received, err, kind, message] of cases) {
        it(what, () => {
            const f = greetingFailure(Buffer.from(received, "latin1"), err, target);
            if (!kind) return assert.strictEqual(f, undefined);
            assert.ok(f, "expected a failure");
            assert.strictEqual(f.constructor, kind);
            assert.strictEqual(f.message, message);
        });
    }

    it("quotes printable ASCII as is and escapes the rest", () => {
        assert.strictEqual(quoteBytes(Buffer.from([0x41, 0x22, 0x5c, 0x09, 0x0d, 0x0a, 0x00, 0x7f, 0xff, 0x7e])), '"A\\"\\\\\\t\\r\\n\\x00\\x7f\\xff~"');
    });

    it("a refusal ends the dialing unless dialErrorLimit was set; a fatal failure always; others never", () => {
        assert.deepStrictEqual(
            [refused("connection"), new FatalDialError("x"), new Error("timed out")].map((e) => [isFinal(e, false), isFinal(e, true)]),
            [[true, false], [true, true], [false, false]],
        );
    });
});
