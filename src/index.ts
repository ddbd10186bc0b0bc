/**
 * ipc-sentry: an in-process model of a Linux IPC namespace. Start with
 * `new Kernel()`, spawn processes, and call their System V syscalls (shm, semaphores, message queues);
 * every call returns an fp-ts Either of a SysError (Left) or its result.
 */
export { Kernel } from './kernel/kernel.js';
export type { KernelOptions, SpawnOptions } from './kernel/kernel.js';
export { Process } from './kernel/process.js';
export type { Word } from './kernel/process.js';
export { IpcNamespace } from './kernel/ipc_namespace.js';
export { isPending } from './kernel/pending.js';
export { formatTraceEvent, traceEventToJson, TRACE_BYTES } from './kernel/trace.js';
export type {
  ContainerTraceEvent,
  FaultTraceEvent,
  FrameTraceEvent,
  SyscallTraceEvent,
  TraceBytes,
  TraceEvent,
  TraceListener,
  TraceNames,
  TraceResult,
  TraceValue,
  WakeTraceEvent,
} from './kernel/trace.js';
export type { Pending, SysResult } from './kernel/pending.js';
export type { SemunArg } from './kernel/syscalls.js';
export type { IpcSysctl, SysctlValue } from './kernel/sysctl.js';
export { IPC_SYSCTLS, SEM_SYSCTLS } from './kernel/sysctl.js';
export type { MsgSysctl } from './msg/limits.js';
export { MSG_SYSCTLS } from './msg/limits.js';
export type { SemSysctl } from './sem/limits.js';
export type { SemctlResult, Timespec } from './sem/syscalls.js';
export type { MsgctlResult } from './msg/ctl.js';
export type { MsgSetArgs } from './msg/registry.js';
export type { MsgReceived } from './msg/waiter.js';
export type { MsgType } from './msg/mtype.js';
export * from './abi/sem.js';
export * from './abi/msg.js';
export type { IpcSetArgs, ShmctlResult } from './shm/syscalls.js';
export type { Capability, Credentials, CredentialsInit, RLimit } from './auth/credentials.js';
export { ALL_CAPABILITIES } from './auth/credentials.js';
export type { ShmSysctl } from './ipc/limits.js';
export { SHM_SYSCTLS } from './ipc/limits.js';
export type { Fault } from './mm/access.js';
export { MemoryFile } from './mm/memory_file.js';
export type { ErrnoName, SysError } from './abi/errno.js';
export { ERRNO, sysError } from './abi/errno.js';
export type { IpcPerm, ShmidDs, ShmInfoLimits, ShmInfoUsage } from './abi/shm.js';
export * from './abi/constants.js';
export * from './abi/fs.js';
export * from './abi/memfd.js';
export * from './abi/mman.js';
export { LockOrderViolation, heldLockCount } from './sync/mutex.js';
export { ContainerEngine, ENGINE_MESSAGES } from './hostchannel/engine.js';
export type { CommandResult, CreateOptions, EngineOptions, RunOptions } from './hostchannel/engine.js';
export { MemoryCgroup } from './memcg/cgroup.js';
export { parseHostChannel } from './hostchannel/spec.js';
export type { HostChannel, HostChannelError, Meminfo } from './hostchannel/spec.js';
export { checkpoint, restore, restoreWithEngine, FORMAT_VERSION as CHECKPOINT_FORMAT_VERSION } from './checkpoint/index.js';
export type { CheckpointError, CheckpointOptions, EngineRestoreOptions, RestoreOptions, RestoredCall, RestoredMachine } from './checkpoint/index.js';
// Types that appear in the signatures above, so that callers can name them.
export type { IpcLimits } from './ipc/limits.js';
export type { SemLimits } from './sem/limits.js';
export type { MsgLimits } from './msg/limits.js';
export type { Arena, ChunkAllocator, ChunkMemoryUsage, MemoryFileOptions } from './mm/memory_file.js';
export type { VmSysctls } from './mm/memory_manager.js';
export type { FileOffset } from './tmpfs/offset.js';
export type { FileStat, Statfs } from './vfs/files.js';
export type { Mount, MountFlags, MountNamespace } from './vfs/mounts.js';
export type { Tmpfs, TmpfsOptions, TmpfsRemount, TmpfsStatfs } from './tmpfs/superblock.js';
export type { MemoryCharge, UnlimitedCharge } from './memcg/charge.js';
export type { ContainerConfig, ContainerState } from './hostchannel/records.js';
export type { HostChannelCommand, HostChannelEnv, HostChannelErrorKind } from './hostchannel/spec.js';
