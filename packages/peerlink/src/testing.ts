/**
 * Test tools for peerlink applications: the whole in-process simulator of
 * {@link @peerlink/transport-memory! | `@peerlink/transport-memory`} (every item of its section
 * is exported here under the same name), including what the main `peerlink` entry leaves out, the
 * schedulers (`VirtualScheduler` for simulated time, `realScheduler`) and the fault types
 * (`Fault`, `StreamFault`, `ConnectFault`, `FaultDirection`). Import it as `peerlink/testing`.
 *
 * @packageDocumentation
 */
export * from '@peerlink/transport-memory';
