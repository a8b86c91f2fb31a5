import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as plugin from "@pulumi/pulumi/proto/plugin_pb";
import * as rpc from "@pulumi/pulumi/proto/provider_pb";
import type { PropertyDiffKind, ResourceContext, ResourceLifecycle } from "../resources/types";
import { parseUrn } from "../resources/types";
import { decode, encode, withSecrets } from "./codec";
import type { EngineLog } from "./engineLog";

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

const DIFF_KIND: Record<PropertyDiffKind, rpc.PropertyDiff.Kind> = {
    add: rpc.PropertyDiff.Kind.ADD,
    "add-replace": rpc.PropertyDiff.Kind.ADD_REPLACE,
    update: rpc.PropertyDiff.Kind.UPDATE,
    "update-replace": rpc.PropertyDiff.Kind.UPDATE_REPLACE,
    delete: rpc.PropertyDiff.Kind.DELETE,
    "delete-replace": rpc.PropertyDiff.Kind.DELETE_REPLACE,
};

export interface ProviderOptions {
    version: string;
    schema: () => string;
    resources: Record<string, ResourceLifecycle>;
    /** Constructs a component; loaded on first use, as it needs the Pulumi SDK's runtime, which is slow to load. */
    construct: (req: rpc.ConstructRequest) => Promise<rpc.ConstructResponse>;
    engineLog: EngineLog;
}

function grpcError(err: unknown): grpc.ServiceError {
    const e = err instanceof Error ? err : new Error(String(err));
    return Object.assign(e, { code: grpc.status.UNKNOWN, details: e.message, metadata: new grpc.Metadata() });
}

/**
 * The ResourceProvider service: decodes a request, calls the resource's
 * lifecycle, encodes its answer. No deployment logic lives here.
 */
export function providerService(o: ProviderOptions): grpc.UntypedServiceImplementation {
    const lifecycleOf = (urn: string, type: string): ResourceLifecycle => {
        const t = type || parseUrn(urn).type;
        const l = o.resources[t];
        if (!l) throw new Error(`unknown resource type ${t}; pulumi-delta ${o.version} serves ${Object.keys(o.resources).join(", ")}`);
        return l;
    };
    const contextOf = (urn: string): ResourceContext => {
        const u = parseUrn(urn);
        return { urn, name: u.name, project: u.project, stack: u.stack, log: (message, severity) => o.engineLog.log(message, urn, severity) };
    };
    /** Decoded inputs' secret paths plus the resource's own, wrapped again on the way out. */
    const out = (l: ResourceLifecycle, value: Record<string, unknown>, arrivedSecret: Iterable<string>): Struct =>
        encode(Struct, withSecrets(value as never, [...l.secretPaths, ...arrivedSecret]));

    function unary<Req, Res>(fn: (req: Req) => Promise<Res>): Unary<Req, Res> {
        return (call, callback) => {
            fn(call.request).then(async (res) => {
                await o.engineLog.flush();
                return res;
            }).then(
                (res) => callback(null, res),
                (err: unknown) => callback(grpcError(err)),
            );
        };
    }

    return {
        handshake: unary(async (_req: rpc.ProviderHandshakeRequest) =>
            new rpc.ProviderHandshakeResponse().setAcceptSecrets(true).setAcceptResources(true).setAcceptOutputs(false),
        ),
        getPluginInfo: unary(async () => new plugin.PluginInfo().setVersion(o.version)),
        getSchema: unary(async (_req: rpc.GetSchemaRequest) => new rpc.GetSchemaResponse().setSchema(o.schema())),
        checkConfig: unary(async (req: rpc.CheckRequest) => new rpc.CheckResponse().setInputs(req.getNews())),
        diffConfig: unary(async () => new rpc.DiffResponse().setChanges(rpc.DiffResponse.DiffChanges.DIFF_NONE)),
        configure: unary(async () => new rpc.ConfigureResponse().setAcceptsecrets(true).setAcceptresources(true).setSupportspreview(true).setAcceptoutputs(false)),
        invoke: unary(async (req: rpc.InvokeRequest) => {
            throw new Error(`pulumi-delta has no function ${req.getTok()}`);
        }),
        call: unary(async (req: rpc.CallRequest) => {
            throw new Error(`pulumi-delta has no method ${req.getTok()}`);
        }),
        check: unary(async (req: rpc.CheckRequest) => {
            const l = lifecycleOf(req.getUrn(), req.getType());
            const olds = decode(req.getOlds());
            const news = decode(req.getNews());
            const r = await l.check(contextOf(req.getUrn()), olds.value, news.value);
            const res = new rpc.CheckResponse().setInputs(out(l, r.inputs, news.secrets));
            res.setFailuresList(r.failures.map((f) => new rpc.CheckFailure().setProperty(f.property).setReason(f.reason)));
            return res;
        }),
        diff: unary(async (req: rpc.DiffRequest) => {
            const l = lifecycleOf(req.getUrn(), req.getType());
            const r = await l.diff(contextOf(req.getUrn()), req.getId(), decode(req.getOlds()).value, decode(req.getNews()).value, decode(req.getOldInputs()).value);
            const res = new rpc.DiffResponse()
                .setChanges(r.changes ? rpc.DiffResponse.DiffChanges.DIFF_SOME : rpc.DiffResponse.DiffChanges.DIFF_NONE)
                .setReplacesList(r.replaces)
                .setDeletebeforereplace(r.deleteBeforeReplace);
            if (r.detailedDiff) {
                res.setHasdetaileddiff(true);
                const map = res.getDetaileddiffMap();
                for (const [key, kind] of Object.entries(r.detailedDiff)) map.set(key, new rpc.PropertyDiff().setKind(DIFF_KIND[kind]).setInputdiff(false));
                res.setDiffsList([...new Set(Object.keys(r.detailedDiff).map((k) => k.split(/[.[]/)[0]))]);
            }
            return res;
        }),
        create: unary(async (req: rpc.CreateRequest) => {
            const l = lifecycleOf(req.getUrn(), req.getType());
            const inputs = decode(req.getProperties());
            const r = await l.create(contextOf(req.getUrn()), inputs.value, req.getPreview());
            return new rpc.CreateResponse().setId(r.id).setProperties(out(l, r.outputs, inputs.secrets));
        }),
        read: unary(async (req: rpc.ReadRequest) => {
            const l = lifecycleOf(req.getUrn(), req.getType());
            const outputs = decode(req.getProperties());
            const inputs = decode(req.getInputs());
            const r = await l.read(contextOf(req.getUrn()), req.getId(), outputs.value, inputs.value);
            const res = new rpc.ReadResponse().setId(r.id);
            if (r.id) res.setProperties(out(l, r.outputs, outputs.secrets)).setInputs(out(l, r.inputs, inputs.secrets));
            return res;
        }),
        update: unary(async (req: rpc.UpdateRequest) => {
            const l = lifecycleOf(req.getUrn(), req.getType());
            const news = decode(req.getNews());
            const r = await l.update(contextOf(req.getUrn()), req.getId(), decode(req.getOlds()).value, news.value, decode(req.getOldInputs()).value, req.getPreview());
            return new rpc.UpdateResponse().setProperties(out(l, r.outputs, news.secrets));
        }),
        delete: unary(async (req: rpc.DeleteRequest) => {
            const l = lifecycleOf(req.getUrn(), req.getType());
            await l.delete(contextOf(req.getUrn()), req.getId(), decode(req.getProperties()).value, decode(req.getOldInputs()).value);
            return new Empty();
        }),
        construct: unary(async (req: rpc.ConstructRequest) => o.construct(req)),
        cancel: unary(async () => new Empty()),
        attach: unary(async () => new Empty()),
        getMapping: unary(async () => new rpc.GetMappingResponse()),
        getMappings: unary(async () => new rpc.GetMappingsResponse()),
        parameterize: unary(async () => {
            throw new Error("pulumi-delta takes no parameters");
        }),
    };
}
