import * as assert from "assert";
import { FULL_BELOW_BYTES, fullFilesystemCause } from "../../sdk/transport/sftpFailure";

describe("sftpFailure: a bare Failure on a full filesystem", () => {
    it("names a full disk, the folder and what is left", () => {
        assert.strictEqual(
            fullFilesystemCause("Failure", "/srv/app", { f_bavail: 3, f_frsize: 4096, f_favail: 100 }),
            `no space left on device (the server said "Failure"; the filesystem holding /srv/app has 12288 bytes free); free some space there, or deploy to another filesystem`,
        );
    });
    it("names a filesystem out of inodes", () => {
        assert.match(fullFilesystemCause("Failure", "/srv/app", { f_bavail: BigInt(10 ** 9), f_frsize: BigInt(4096), f_favail: BigInt(0) })!, /has no inodes free\)/);
    });
    it("leaves a Failure alone where there is room", () => {
        assert.strictEqual(fullFilesystemCause("Failure", "/srv/app", { f_bavail: FULL_BELOW_BYTES / 4096, f_frsize: 4096, f_favail: 5 }), undefined);
        assert.strictEqual(fullFilesystemCause("Failure", "/srv/app", { f_bavail: 10 ** 6, f_frsize: 4096 }), undefined);
    });
});
