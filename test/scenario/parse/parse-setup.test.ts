import { describe, expect, it } from 'vitest';
import { errors, last, lines, program } from '../helpers.js';
import { encodeProgram } from '../../../src/scenario/native/protocol.js';

describe('proc', () => {
  it('applies Linux defaults: root gets every capability', () => {
    expect(last('proc A')).toEqual({ op: 'proc', line: 1, proc: 0, uid: 0, gid: 0, groups: [], caps: 'all', ns: 0 });
  });

  it('gives a non-root process no capabilities by default', () => {
    expect(last('proc A uid=1000')).toMatchObject({ uid: 1000, caps: [] });
    expect(last('proc A gid=5')).toMatchObject({ uid: 0, gid: 5, caps: 'all' });
  });

  it('reads every option, in any order', () => {
    expect(last('proc A ns=x caps=CAP_SYS_RESOURCE,CAP_IPC_OWNER groups=1,0x10,010 gid=7 uid=4294967294')).toEqual({
      op: 'proc',
      line: 1,
      proc: 0,
      uid: 4294967294,
      gid: 7,
      groups: [1, 16, 8],
      caps: ['CAP_IPC_OWNER', 'CAP_SYS_RESOURCE'],
      ns: 1,
    });
  });

  it('accepts caps=all, caps=none and each single capability', () => {
    expect(last('proc A uid=1 caps=all')).toMatchObject({ caps: 'all' });
    expect(last('proc A caps=none')).toMatchObject({ caps: [] });
    for (const c of ['CAP_IPC_OWNER', 'CAP_IPC_LOCK', 'CAP_SYS_ADMIN', 'CAP_SYS_RESOURCE']) {
      expect(last(`proc A caps=${c}`)).toMatchObject({ caps: [c] });
    }
  });

  it('numbers processes in start order and namespaces in order of first use', () => {
    const p = program(lines('proc A ns=n2', 'proc B', 'proc C ns=default', 'sysctl ns=n3 kernel.shmmni=1', 'proc D ns=n2'));
    expect(p.procNames).toEqual(['A', 'B', 'C', 'D']);
    expect(p.procNs).toEqual([1, 0, 0, 1]);
    expect(p.nsNames).toEqual(['default', 'n2', 'n3']);
  });

  it('reports a missing name, reserved names and a second start', () => {
    expect(errors('proc')).toEqual(['1:1: proc needs a process name']);
    for (const r of ['proc', 'fork', 'exit', 'sysctl', 'rlimit']) {
      expect(errors(`proc ${r}`)).toEqual([`1:6: ${r} cannot name a process`]);
    }
    expect(errors(lines('proc A', 'proc A'))).toEqual(['2:6: process A is already started']);
    expect(errors(lines('proc A', 'exit A', 'proc A'))).toEqual(['3:6: process A is already started']);
    expect(errors('proc 1A')).toEqual(['1:6: expected a process name, got 1A']);
    expect(errors('proc "A"')).toEqual(['1:6: a string is not allowed here']);
  });

  it('checks uid, gid and group ranges', () => {
    expect(errors('proc A uid=-1')).toEqual(['1:12: uid must be between 0 and 4294967294']);
    expect(errors('proc A uid=4294967295')).toEqual(['1:12: uid must be between 0 and 4294967294']);
    expect(errors('proc A gid=0x100000000')).toEqual(['1:12: gid must be between 0 and 4294967294']);
    expect(errors('proc A groups=1,-2,3')).toEqual(['1:17: a group must be between 0 and 4294967294']);
    expect(errors('proc A groups=1,,3')).toEqual(['1:17: expected a number, got nothing']);
    expect(errors('proc A uid=1K')).toEqual(['1:13: a size suffix is not allowed here']);
  });

  it('checks the caps list', () => {
    expect(errors('proc A caps=CAP_IPC_OWNER,CAP_KILL')).toEqual([
      '1:27: unknown capability CAP_KILL (use all, none, or CAP_IPC_OWNER, CAP_IPC_LOCK, CAP_SYS_ADMIN, CAP_SYS_RESOURCE)',
    ]);
    expect(errors('proc A caps=CAP_IPC_LOCK,CAP_IPC_LOCK')).toEqual(['1:26: capability CAP_IPC_LOCK is listed twice']);
    expect(errors('proc A caps=')[0]).toMatch(/^1:13: unknown capability \(empty\)/);
    expect(errors('proc A caps=all,CAP_IPC_LOCK')[0]).toMatch(/^1:13: unknown capability all/);
  });

  it('reports repeated, unknown and malformed options, and still starts the process', () => {
    expect(errors(lines('proc A uid=1 uid=2', 'A shmdt 0'))).toEqual(['1:14: uid= is given twice']);
    expect(errors('proc A pid=3')).toEqual(['1:8: unknown option pid= (proc takes uid=, gid=, groups=, caps= and ns=)']);
    expect(errors('proc A root')).toEqual(['1:8: expected uid=, gid=, groups=, caps= or ns=, got root']);
    expect(errors('proc A ns=1x')).toEqual(['1:11: expected a namespace name, got 1x']);
  });
});

describe('fork', () => {
  it('starts the child in the parent namespace with the next index', () => {
    const p = program(lines('proc A ns=x', 'proc B', 'fork A C'));
    expect(p.statements[2]).toEqual({ op: 'fork', line: 3, parent: 0, child: 2 });
    expect(p.procNs).toEqual([1, 0, 1]);
  });

  it('copies the address names the parent holds at fork time, no later ones', () => {
    const head = ['proc A', 'A shmget IPC_PRIVATE 4K 0600 -> s', 'A shmat s 0 0 -> a', 'fork A B', 'A shmat s 0 0 -> b'];
    expect(last(lines(...head, 'B shmdt a+4096'))).toMatchObject({ op: 'shmdt', proc: 1 });
    expect(errors(lines(...head, 'B shmdt b'))).toEqual(['6:9: address b is not bound in process B']);
  });

  it('reports unknown or exited parents and bad children', () => {
    expect(errors('fork A B')).toEqual(['1:6: unknown process A']);
    expect(errors(lines('proc A', 'exit A', 'fork A B'))).toEqual(['3:6: process A exited at line 2']);
    expect(errors(lines('proc A', 'fork A exit'))).toEqual(['2:8: exit cannot name a process']);
    expect(errors(lines('proc A', 'fork A A'))).toEqual(['2:8: process A is already started']);
    expect(errors(lines('proc A', 'fork A'))).toEqual(['2:1: fork needs PARENT CHILD (got 1 argument)']);
    expect(errors(lines('proc A', 'fork A B C'))).toEqual(['2:10: too many arguments: fork takes PARENT CHILD']);
  });

  it('still starts the child when the parent is wrong, so later lines are not blamed', () => {
    expect(errors(lines('fork X B', 'B shmdt 0'))).toEqual(['1:6: unknown process X']);
  });
});

describe('exit', () => {
  it('ends a process; it can no longer act', () => {
    expect(last(lines('proc A', 'exit A'))).toEqual({ op: 'exit', line: 2, proc: 0 });
    expect(errors(lines('proc A', 'exit A', 'A shmdt 0'))).toEqual(['3:1: process A exited at line 2']);
    expect(errors(lines('proc A', 'exit A', 'exit A'))).toEqual(['3:6: process A exited at line 2']);
    expect(errors('exit')).toEqual(['1:1: exit needs NAME (got 0 arguments)']);
  });
});

describe('sysctl', () => {
  it('writes each of the five keys, by default in the default namespace', () => {
    for (const k of ['shmmax', 'shmall', 'shmmni', 'shm_rmid_forced', 'shm_next_id']) {
      expect(last(`sysctl kernel.${k}=0x10`)).toEqual({ op: 'sysctl', line: 1, ns: 0, name: k, value: 16n });
    }
  });

  it('takes ns= before or after the key, and keeps negative and 64-bit values', () => {
    expect(last('sysctl ns=x kernel.shmmax=-1')).toMatchObject({ ns: 1, value: -1n });
    expect(last('sysctl kernel.shmall=18446744073709551615 ns=default')).toMatchObject({ ns: 0, value: 2n ** 64n - 1n });
  });

  it('reports unknown, missing and repeated keys', () => {
    expect(errors('sysctl kernel.msg_foo=1')[0]).toBe(
      '1:8: unknown sysctl kernel.msg_foo (use kernel.shmmax, kernel.shmall, kernel.shmmni, kernel.shm_rmid_forced, kernel.shm_next_id, kernel.sem, kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem_next_id, kernel.msg_next_id, vm.max_map_count)',
    );
    expect(errors('sysctl kernel.sem=1')[0]).toMatch(/^1:19: kernel.sem takes its four numbers in one quoted string/);
    expect(errors('sysctl kernel.sem="1 2 3"')).toEqual(['1:8: kernel.sem takes exactly four numbers: "SEMMSL SEMMNS SEMOPM SEMMNI"']);
    expect(errors('sysctl kernel.sem="1 2 3 4 5"')[0]).toMatch(/^1:8: kernel.sem takes exactly four numbers/);
    expect(errors('sysctl kernel.sem=""')[0]).toMatch(/^1:8: kernel.sem takes exactly four numbers/);
    expect(errors('sysctl kernel.sem="1 x 3 4"')).toEqual(['1:22: expected a number, got x']);
    expect(errors('sysctl shmmax=1')[0]).toMatch(/^1:8: unknown sysctl shmmax/);
    expect(errors('sysctl')).toEqual(['1:1: sysctl needs kernel.KEY=VALUE']);
    expect(errors('sysctl ns=x')).toEqual(['1:1: sysctl needs kernel.KEY=VALUE']);
    expect(errors('sysctl kernel.shmmax=1 kernel.shmall=2')).toEqual(['1:24: sysctl writes one key per statement']);
    expect(errors('sysctl ns=a ns=b kernel.shmmax=1')).toEqual(['1:13: ns= is given twice']);
    expect(errors('sysctl kernel.shmmax')).toEqual(['1:8: expected ns=NSNAME or kernel.KEY=VALUE, got kernel.shmmax']);
    expect(errors('sysctl kernel.shmmax=1M')).toEqual(['1:23: a size suffix is not allowed here']);
    expect(errors('sysctl kernel.shmmax=')).toEqual(['1:22: expected a number, got nothing']);
  });
});

describe('sysctl vm.max_map_count', () => {
  it('writes the global limit, emulated only', async () => {
    const { kindOf, isEmulatedOnly } = await import('../../../src/scenario/parse/table.js');
    const s = last('sysctl vm.max_map_count=8');
    expect(s).toEqual({ op: 'sysctl', line: 1, ns: 0, name: 'vm.max_map_count', value: 8n });
    const form = kindOf(s).native(s);
    expect(isEmulatedOnly(form)).toBe(true);
    expect(kindOf(last('sysctl kernel.shmmax=1')).native(last('sysctl kernel.shmmax=1'))).toEqual(['sysctl', 0, 'shmmax', 1n]);
  });

  it('takes no ns=, since it is global', () => {
    expect(errors('sysctl ns=x vm.max_map_count=8')).toEqual(['1:8: vm.max_map_count is global: ns= does not apply']);
    expect(errors('sysctl kernel.max_map_count=8')[0]).toMatch(/^1:8: unknown sysctl kernel.max_map_count/);
  });
});

describe('rlimit', () => {
  it('sets memlock, with -1 meaning RLIM_INFINITY', () => {
    expect(last(lines('proc A', 'rlimit A memlock=-1'))).toEqual({ op: 'rlimit', line: 2, proc: 0, memlock: 2n ** 64n - 1n });
    expect(last(lines('proc A', 'rlimit A memlock=0x10000'))).toMatchObject({ memlock: 65536n });
  });

  it('sets fsize, with -1 meaning RLIM_INFINITY; the oracle line names the resource', () => {
    expect(last(lines('proc A', 'rlimit A fsize=10000'))).toEqual({ op: 'rlimit', line: 2, proc: 0, fsize: 10000n });
    expect(last(lines('proc A', 'rlimit A fsize=-1'))).toMatchObject({ fsize: 2n ** 64n - 1n });
    expect(encodeProgram(program(lines('proc A', 'rlimit A fsize=10000', 'rlimit A memlock=4096')))).toBe(
      lines('1 proc 0 0 0 0 -1 0', '2 rlimit 0 fsize 10000', '3 rlimit 0 4096'),
    );
  });

  it('reports bad limits and arguments', () => {
    expect(errors(lines('proc A', 'rlimit A memlock=-2'))).toEqual(['2:18: memlock must be -1 (unlimited) or a number of bytes']);
    expect(errors(lines('proc A', 'rlimit A nofile=1'))).toEqual(['2:10: expected memlock=N or fsize=N, got nofile=1']);
    expect(errors(lines('proc A', 'rlimit A fsize=-2'))).toEqual(['2:16: fsize must be -1 (unlimited) or a number of bytes']);
    expect(errors(lines('proc A', 'rlimit A memlock=8M'))).toEqual(['2:19: a size suffix is not allowed here']);
    expect(errors('rlimit B memlock=1')).toEqual(['1:8: unknown process B']);
    expect(errors(lines('proc A', 'rlimit A'))).toEqual(['2:1: rlimit needs NAME memlock=N|fsize=N (got 1 argument)']);
  });
});
