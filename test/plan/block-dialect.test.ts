import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { taskById } from './helpers.js';

describe('task blocks', () => {
  it('reads headings with bold-label fields, in paragraphs or list items', () => {
    const { plan, diagnostics } = parsePlan(`# Plan

### Task: Research VNC Migration Strategy
- **Assigned To:** Architect
- **Status:** Not Started
- **Dependencies:** None

### TASK_003: Azure DevOps Performance Optimization [URGENT]
**Agent**: developer
**Status**: ready
**Priority**: High
**Dependencies**: TASK_001
**Estimated Time**: 3 hours
**Branch**: \`perf/azure\`
**Files**: \`pipelines/azure.yml\`, \`src/agent.ts\`
**Success Criteria**:
- All existing functionality preserved
- Build time under 10 minutes

### TASK_001: Baseline measurements
**Agent**: developer
**Status**: ✅ Completed
`);
    expect(diagnostics).toEqual([]);
    expect(plan.tasks.map((task) => task.id)).toEqual(['T-1', 'TASK_003', 'TASK_001']);
    expect(taskById(plan.tasks, 'T-1')).toMatchObject({
      title: 'Research VNC Migration Strategy',
      agents: ['Architect'],
      status: 'pending',
      dependsOn: [],
      idGenerated: true,
      dialect: 'block',
      line: 3,
      statusLine: 5,
    });
    expect(taskById(plan.tasks, 'TASK_003')).toMatchObject({
      title: 'Azure DevOps Performance Optimization [URGENT]',
      agents: ['developer'],
      status: 'pending',
      priority: 'High',
      dependsOn: ['TASK_001'],
      estimateHours: 3,
      branch: 'perf/azure',
      files: ['pipelines/azure.yml', 'src/agent.ts'],
      criteria: ['All existing functionality preserved', 'Build time under 10 minutes'],
    });
    expect(taskById(plan.tasks, 'TASK_001').status).toBe('completed');
  });

  it('reads Portuguese labels and strips the role after an agent name', () => {
    const { plan } = parsePlan(`## Tarefas

### Tarefa: Análise
- **Atribuído a**: Agent 1 (Architect)
- **Status**: Concluído
- **Prioridade**: Alta
`);
    expect(plan.tasks[0]).toMatchObject({
      title: 'Análise',
      agents: ['Agent 1'],
      status: 'completed',
      priority: 'Alta',
    });
  });

  it('takes the agent from an enclosing heading that names a known agent', () => {
    const { plan } = parsePlan(`**Agents**: claude-opus (hard), codex (medium)

## Phase 1: Foundation

### codex — Bindings

#### 1D. Expose kernel bindings
**Files**: \`bindings.cpp\`
- **Success**: all kernels bound
`);
    expect(plan.tasks[0]).toMatchObject({
      id: '1D',
      agents: ['codex'],
      group: '1',
      files: ['bindings.cpp'],
      criteria: ['all kernels bound'],
    });
  });

  it('does not take prose sections, role descriptions or reports for tasks', () => {
    const { plan } = parsePlan(`# Roles

## 1. Builder Agent
**Primary Role:** Feature implementation
**Success Criteria:**
- Code passes lint

### builder-1: JWT Service Implementation
- **Status**: ✅ COMPLETE
- **Duration**: 1h 32min

### Task Board
Nothing here.
`);
    expect(plan.tasks).toEqual([]);
  });

  it('warns about a status field it cannot read', () => {
    const { diagnostics } = parsePlan('### Task: A\n**Agent**: B-1\n**Status**: sideways\n');
    expect(diagnostics).toEqual([
      expect.objectContaining({ code: 'unknown-status', line: 3, severity: 'warning' }),
    ]);
  });
});

describe('checklist boards (only when nothing more structured exists)', () => {
  it('reads checkbox lines that name a rostered agent, with the section as status', () => {
    const { plan } = parsePlan(`| Agent | Owns |
|---|---|
| **DB Agent** | api |

### In Progress
- [ ] **Add index** (\`prisma/schema.prisma\`) — **DB Agent**, 2026-06-05
- [ ] Unowned chore

### Completed
- [x] **Old fix** — **DB Agent**
`);
    expect(plan.tasks.map((task) => [task.title, task.agents[0], task.status, task.files])).toEqual(
      [
        ['Add index', 'DB Agent', 'in_progress', ['prisma/schema.prisma']],
        ['Old fix', 'DB Agent', 'completed', []],
      ],
    );
  });

  it('leaves checklists alone in a plan that has task lines', () => {
    const { plan } = parsePlan(`| Agent | Owns |
|---|---|
| DB Agent | api |

## Parallel Group 1: X
- [ ] 1.1: Real task (Builder-1)

### Notes
- [ ] **Remember this** — **DB Agent**
`);
    expect(plan.tasks.map((task) => task.id)).toEqual(['1.1']);
  });
});
