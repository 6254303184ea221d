/**
 * The three-phase code_review workflow of the workflow tests: define_workflow's arguments (quick runs
 * phases 1 and 3, deep all three).
 */
export const CODE_REVIEW = {
  workflow_type: 'code_review',
  title: 'Code review',
  default_mode: 'quick',
  phases: [
    { num: 1, name: 'Read the change', folder: 'read' },
    { num: 2, name: 'Deep review', folder: 'deep_review' },
    { num: 3, name: 'Verdict', folder: 'verdict' },
  ],
  modes: [
    { name: 'quick', phases: [1, 3] },
    { name: 'deep', phases: [1, 2, 3] },
  ],
};
