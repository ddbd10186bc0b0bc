/**
 * An intrusive doubly-linked list (Linux's struct list_head, as msg_queue
 * keeps q_receivers and q_senders; its messages are a MessageList, in
 * message.ts): each element carries its own links, so unlinking from the
 * middle (a signalled waiter) and moving to the tail (ss_wakeup) are O(1). An element is on at most one
 * list at a time; `linked` says whether it is on one.
 *
 * Elements implement ListNode rather than extending a base class (see
 * src/ipc/object.ts on derived classes and V8).
 */

/** What an element of a List carries. */
export interface ListNode<T> {
  prev: T | undefined;
  next: T | undefined;
  /** True while the element is on a list. */
  linked: boolean;
}

/** A list of T in insertion order, head first. */
export class List<T extends ListNode<T>> {
  private head: T | undefined = undefined;
  private tail: T | undefined = undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get first(): T | undefined {
    return this.head;
  }

  /** list_add_tail. Precondition: `n` is on no list. */
  addTail(n: T): void {
    if (n.linked) throw new Error('list element is already linked');
    n.prev = this.tail;
    n.next = undefined;
    if (this.tail === undefined) this.head = n;
    else this.tail.next = n;
    this.tail = n;
    n.linked = true;
    this.count += 1;
  }

  /** list_del. Precondition: `n` is on this list. */
  remove(n: T): void {
    if (!n.linked) throw new Error('list element is not linked');
    if (n.prev === undefined) this.head = n.next;
    else n.prev.next = n.next;
    if (n.next === undefined) this.tail = n.prev;
    else n.next.prev = n.prev;
    n.prev = undefined;
    n.next = undefined;
    n.linked = false;
    this.count -= 1;
  }

  /** list_move_tail. Precondition: `n` is on this list. */
  moveTail(n: T): void {
    if (this.tail === n) return;
    this.remove(n);
    this.addTail(n);
  }

  /** Unlinks every element (each one's `linked` becomes false), returning them in order. */
  takeAll(): T[] {
    const all: T[] = [];
    for (let n = this.head; n !== undefined; ) {
      const next: T | undefined = n.next;
      n.prev = undefined;
      n.next = undefined;
      n.linked = false;
      all.push(n);
      n = next;
    }
    this.head = undefined;
    this.tail = undefined;
    this.count = 0;
    return all;
  }

  /** The elements in order (a snapshot: changing the list during the loop is safe). */
  toArray(): T[] {
    const all: T[] = [];
    for (let n = this.head; n !== undefined; n = n.next) all.push(n);
    return all;
  }
}
