// Delta deployments: sync a local tree to hosts over SSH, sending only what changed, with rollback on destroy; and reversible SQL deltas for every tenant database.
package delta
