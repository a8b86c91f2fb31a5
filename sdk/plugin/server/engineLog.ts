import * as grpc from "@grpc/grpc-js";
import { EngineClient } from "@pulumi/pulumi/proto/engine_grpc_pb";
import { LogRequest, LogSeverity } from "@pulumi/pulumi/proto/engine_pb";

const SEVERITY = { debug: LogSeverity.DEBUG, info: LogSeverity.INFO, warning: LogSeverity.WARNING, error: LogSeverity.ERROR } as const;

/** Lines shown under a resource: the engine's own log service, so plain `pulumi preview` lists them under Diagnostics. */
export class EngineLog {
    private readonly client: EngineClient;
    private pending = Promise.resolve();

    constructor(address: string) {
        this.client = new EngineClient(address, grpc.credentials.createInsecure());
    }

    log(message: string, urn: string, severity: keyof typeof SEVERITY = "info"): void {
        const req = new LogRequest().setMessage(message).setUrn(urn).setSeverity(SEVERITY[severity]);
        // In order: a delta's lines must not interleave with the next message.
        this.pending = this.pending.then(
            () =>
                new Promise<void>((resolve) => {
                    this.client.log(req, () => resolve());
                }),
        );
    }

    /** Resolves once every line sent so far has reached the engine. */
    flush(): Promise<void> {
        return this.pending;
    }

    close(): void {
        this.client.close();
    }
}
