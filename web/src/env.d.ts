/** The lessons, generated at build time from examples/ by scripts/web.mjs. */
declare module 'virtual:lessons' {
  export interface Lesson {
    /** The file name in examples/, also the key of web/recorded.json. */
    readonly file: string;
    /** A short name for the list. */
    readonly title: string;
    /** The heading of examples/README.md's index the file is under ("Start here" for the first lessons). */
    readonly section: string;
    /** What the lesson teaches, from the index (or the file's first comment). */
    readonly teaches: string;
    readonly source: string;
  }
  export const LESSONS: readonly Lesson[];
}
