// The rxjs classes stator creates, loaded from their own modules: rxjs's main entry is CommonJS that
// requires all of its 224 files (every operator and scheduler) wherever one class is imported, and
// every `stator run` paid for that at start. `rxjs/internal/*` is in rxjs's package exports, and
// these are the same classes (the same module instances) that `import { Subject } from 'rxjs'`
// gives a user; types still come from 'rxjs'.
export { Subject } from 'rxjs/internal/Subject';
export { BehaviorSubject } from 'rxjs/internal/BehaviorSubject';
