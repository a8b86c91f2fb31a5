import type { Transport } from "../../sdk/transport";

/** The transport, counting each call by method: what a check costs in requests to the host. */
export function counting(t: Transport): { t: Transport; calls: Record<string, number> } {
    const calls: Record<string, number> = {};
    const proxy = new Proxy(t, {
        get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver);
            if (typeof value !== "function") return value;
            return (...args: unknown[]) => {
                calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
                return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
        },
    });
    return { t: proxy, calls };
}
