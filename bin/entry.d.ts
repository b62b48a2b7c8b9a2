// Types of bin/entry.js for the TypeScript tests that import it.
export declare const BUNDLE: string
export declare function chooseEntry(root: string): 'bundle' | 'tsx'
