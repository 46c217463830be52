import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { Plan } from '../../src/engine/plan/schema.js';
import { validatePlan } from '../../src/engine/plan/validate.js';
import { computeWaves } from '../../src/engine/schedule/graph.js';
import { readSharedPlan, sharedPlansDir, taskById } from './helpers.js';

/** Parse and validate one real plan from the corpus. */
function load(name: string) {
  const { plan, diagnostics } = parsePlan(readSharedPlan(name));
  const findings = [...diagnostics, ...validatePlan(plan)];
  const codes = (severity: 'error' | 'warning') =>
    findings.filter((d) => d.severity === severity).map((d) => d.code);
  return { plan, findings, errors: codes('error'), warnings: codes('warning') };
}

describe('the corpus of real plans', () => {
  it('parses every file without a crash into a schema-valid plan', () => {
    const files = readdirSync(sharedPlansDir()).filter((name) => name.endsWith('.md'));
    expect(files.length).toBeGreaterThanOrEqual(13);
    for (const file of files) {
      const { plan } = parsePlan(readSharedPlan(file));
      expect(() => Plan.parse(plan), file).not.toThrow();
    }
  });

  it('LactiKit: per-agent checklists under "### Agent N Tasks" become 19 tasks, 6 already done', () => {
    const { plan, errors } = load('GabrielCastilloH__LactiKit__MULTI_AGENT_PLAN.md');
    expect(plan.tasks).toHaveLength(19);
    const first = plan.tasks[0]!;
    expect(first).toMatchObject({
      title: 'types/index.ts',
      agents: ['Agent 1'],
      status: 'completed',
      files: ['types/index.ts'],
      line: 37,
      dialect: 'seed',
    });
    expect(plan.tasks.filter((task) => task.status === 'completed')).toHaveLength(6);
    expect(plan.tasks.find((task) => task.title === 'hooks/useChat.ts')).toMatchObject({
      agents: ['Agent 3'],
      status: 'pending',
      line: 55,
    });
    expect(new Set(plan.tasks.flatMap((task) => task.agents))).toEqual(
      new Set(['Agent 1', 'Agent 2', 'Agent 3', 'Agent 4']),
    );
    // The "Shared Types" bullet list is not a checklist: no task from it.
    expect(plan.tasks.some((task) => task.title.startsWith('Message'))).toBe(false);
    expect(errors).toEqual([]);
  });

  it('braiins Task Assignment Matrix: 5 table tasks; detail sections enrich T1 without adding tasks', () => {
    const { plan, errors } = load(
      'Ryno-Crypto-Mining-Services__braiins-os-mcp-server__MULTI_AGENT_PLAN.md',
    );
    expect(plan.tasks.map((task) => task.id)).toEqual(['T1', 'T2', 'T3', 'T4', 'T5']);
    expect(taskById(plan.tasks, 'T1')).toMatchObject({
      title: 'Tool: configure_autotuning',
      status: 'completed',
      group: 'A',
      branch: 'mcp/autotuning',
      worktree: '../worktrees/mcp-autotuning',
      dialect: 'table',
      // "**Agent**: Builder (Claude Sonnet 4.5)" in the "### T1: … - COMPLETED ✅" notes.
      agents: ['Builder'],
    });
    expect(taskById(plan.tasks, 'T1').details).toContain('Validate mode compatibility');
    expect(taskById(plan.tasks, 'T1').details).not.toContain('Plan Version');
    expect(taskById(plan.tasks, 'T2')).toMatchObject({ status: 'pending', agents: [], line: 20 });
    expect(plan.groups.map((group) => group.id)).toEqual(['A']);
    // The matrix has a Skill column but no agent column: T2-T5 have no agent.
    expect(errors).toEqual(['missing-agent', 'missing-agent', 'missing-agent', 'missing-agent']);
  });

  it('Baddy: the sectioned board gives the 7 checkbox lines that name an agent', () => {
    const { plan, errors } = load('csarunkarthik__Baddy__MULTI_AGENT_PLAN.md');
    expect(plan.tasks).toHaveLength(7);
    expect(plan.tasks[0]).toMatchObject({
      title: '[Bugfix] Pickleball stats bleeding into badminton ELO + prior win-rate',
      agents: ['DB Agent'],
      // Unchecked, under "### Needs Review/Test".
      status: 'review',
      files: ['app/api/sessions/[id]/matches/route.ts'],
      line: 62,
    });
    expect(plan.tasks.slice(1).every((task) => task.status === 'completed')).toBe(true);
    expect(plan.tasks.filter((task) => task.agents[0] === 'UI Agent')).toHaveLength(5);
    expect(errors).toEqual([]);
  });

  it('MULTIAGENT_PLAN (roles and protocol only): no tasks, and an error that names the dialects', () => {
    const { plan, findings } = load('enuno__claude-command-and-control__MULTIAGENT_PLAN.md');
    expect(plan.tasks).toEqual([]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'error', code: 'no-tasks', line: 1 });
    expect(findings[0]!.message).toMatch(/Parallel Group task lines.*task tables.*task blocks/);
  });

  it('claude-command-and-control: Workstream and Sequential Task blocks with phase ordering', () => {
    const { plan, errors, findings } = load(
      'enuno__claude-command-and-control__MULTI_AGENT_PLAN.md',
    );
    expect(plan.tasks.map((task) => task.id)).toEqual([
      'Workstream 1',
      'Workstream 2',
      'Workstream 3',
      'Workstream 4',
      'Sequential Task 1',
      'Sequential Task 2',
      'Sequential Task 3',
      'G4-T1',
    ]);
    expect(taskById(plan.tasks, 'Workstream 1')).toMatchObject({
      title: 'Firmware & Pool Management Tools',
      agents: ['Builder-1'],
      group: '1',
      priority: 'CRITICAL',
      estimateHours: 4,
      dependsOn: [],
      dialect: 'block',
      line: 94,
    });
    expect(taskById(plan.tasks, 'Workstream 1').criteria).toContain(
      '2 new tools fully implemented',
    );
    // "All parallel workstreams complete" names Phase 1's title; "Integration complete" a task's.
    expect(taskById(plan.tasks, 'Sequential Task 1').dependsOn).toEqual([
      'Workstream 1',
      'Workstream 2',
      'Workstream 3',
      'Workstream 4',
    ]);
    expect(taskById(plan.tasks, 'Sequential Task 2').dependsOn).toEqual(['Sequential Task 1']);
    expect(taskById(plan.tasks, 'Sequential Task 3').dependsOn).toEqual(['Sequential Task 2']);
    expect(taskById(plan.tasks, 'G4-T1')).toMatchObject({
      title: 'Final Cleanup & Summary',
      idGenerated: true,
      agents: ['Orchestrator'],
      estimateHours: 0.5,
    });
    expect(errors).toEqual([]);
    expect(findings.find((d) => d.code === 'dependency-not-understood')).toMatchObject({
      line: 216,
      message: expect.stringContaining('Tools from other workstreams'),
    });
    expect(computeWaves(plan.tasks)).toHaveLength(4);
  });

  it('orchestration template: the Task Assignment Matrix, skills split off agents, groups A-D', () => {
    const { plan, errors } = load(
      'enuno__claude-command-and-control__templates__orchestration__MULTIAGENT_PLAN.md',
    );
    expect(plan.tasks.map((task) => task.id)).toEqual(['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7']);
    expect(taskById(plan.tasks, 'T1')).toMatchObject({
      title: 'Design auth architecture & API contracts',
      agents: ['Architect'],
      worktree: '../arch',
      branch: 'feature/auth-arch',
      group: 'A',
      status: 'pending',
      estimateHours: 1,
      dependsOn: [],
      line: 86,
    });
    expect(taskById(plan.tasks, 'T5').dependsOn).toEqual(['T2', 'T3', 'T4']);
    expect(taskById(plan.tasks, 'T7')).toMatchObject({
      dependsOn: ['T5', 'T6'],
      estimateHours: 1.5,
    });
    expect(plan.groups.map((group) => group.id)).toEqual(['A', 'B', 'C', 'D']);
    expect(computeWaves(plan.tasks)).toEqual([['T1'], ['T2', 'T3', 'T4'], ['T5', 'T6'], ['T7']]);
    // The fenced "### T2 - builder-oauth-001" example and the execution log add nothing.
    expect(errors).toEqual([]);
  });

  it('unifi: owner-assigned workflow phases are task blocks; the fenced status table is not', () => {
    const { plan, errors } = load('enuno__unifi-mcp-server__MULTI_AGENT_PLAN.md');
    expect(plan.tasks.map((task) => task.id)).toEqual([
      'Phase 1',
      'Phase 2',
      'Phase 3',
      'Phase 4',
      'Phase 5',
      'Phase 6',
    ]);
    expect(taskById(plan.tasks, 'Phase 1')).toMatchObject({
      title: 'Planning',
      agents: ['Release Manager'],
      estimateHours: 0.25,
      line: 114,
    });
    expect(taskById(plan.tasks, 'Phase 3').estimateHours).toBe(4); // "(2-4 hours)": upper bound
    expect(plan.tasks.some((task) => task.title.includes('coverage to 80%'))).toBe(false);
    expect(errors).toEqual([]);
  });

  it('methodology claim template: no tasks', () => {
    const { plan, errors } = load('eyalgi11__methodology__MULTI_AGENT_PLAN.md');
    expect(plan.tasks).toEqual([]);
    expect(errors).toEqual(['no-tasks']);
  });

  it('Bable PET: Portuguese "### Tarefa:" blocks with "**Atribuído a**:" fields', () => {
    const { plan, errors, warnings } = load(
      'gabrielteoodoro__workflow-configs---Bable-PET__MULTI_AGENT_PLAN.md',
    );
    expect(plan.tasks.map((task) => [task.id, task.agents[0], task.status])).toEqual([
      ['T-1', 'Agent 1', 'pending'], // Pronto para Iniciar
      ['T-2', 'Agent 2', 'blocked'], // Aguardando Dependências
      ['T-3', 'Agent 3', 'blocked'],
      ['T-4', 'Agent 4', 'in_progress'], // Em Progresso Contínuo
    ]);
    expect(taskById(plan.tasks, 'T-1')).toMatchObject({
      title: 'Análise Arquitetural do Sistema Atual',
      idGenerated: true,
      priority: 'Alta',
      line: 21,
    });
    // The "Pendências Críticas" checklist is not a second set of tasks.
    expect(plan.tasks).toHaveLength(4);
    expect(errors).toEqual([]);
    expect(warnings.filter((code) => code === 'dependency-not-understood')).toHaveLength(2);
  });

  it('LLM work plan: phases, agent headings, "#### 1A." blocks and "- **4A.**" lines', () => {
    const { plan, errors, findings } = load('mcpirate17__LLM__MULTI_AGENT_PLAN.md');
    expect(plan.tasks).toHaveLength(36);
    expect(plan.groups.map((group) => [group.id, group.dependsOn])).toEqual([
      ['1', []],
      ['2', ['1']], // "(After Phase 1)"
      ['3', ['2']],
      ['4', ['3']],
    ]);
    expect(taskById(plan.tasks, '1A')).toMatchObject({
      title: 'Finish Grammar Overhaul (Judgment Engine Phase 6.4)',
      agents: ['claude-opus'],
      group: '1',
      files: ['research/synthesis/grammar.py'],
      dialect: 'block',
      line: 23,
    });
    expect(taskById(plan.tasks, '1A').criteria[0]).toMatch(/^generate\(\) over 100 seeds/);
    expect(taskById(plan.tasks, '2C').dependsOn).toContain('2D');
    expect(taskById(plan.tasks, '3C').dependsOn.slice(0, 2)).toEqual(['2C', '3B']);
    expect(taskById(plan.tasks, '4E')).toMatchObject({
      agents: ['codex'],
      group: '4',
      dialect: 'seed',
    });
    expect(errors).toEqual([]);
    expect(findings.filter((d) => d.code === 'file-conflict').map((d) => d.message)).toContain(
      'tasks 1D and 1F in group 1 both claim aria_core/bindings/bindings.cpp: a merge conflict waiting to happen',
    );
  });

  it('elevator-sim: lane tables with the id and branch in one cell and "all of A0–A7"', () => {
    const { plan, errors } = load('mrpeanut01__elevator-sim__MULTI_AGENT_PLAN.md');
    expect(plan.tasks.map((task) => task.id)).toEqual([
      'A0',
      'A1',
      'A2',
      'A3',
      'A4',
      'A5',
      'A6',
      'A7',
      'A8',
      'B0',
      'B1..Bn',
    ]);
    expect(taskById(plan.tasks, 'A3')).toMatchObject({
      branch: 'feat/wire-the-controls',
      dependsOn: ['A1', 'A2'],
      group: 'WS-A',
      line: 41,
    });
    expect(taskById(plan.tasks, 'A0').dependsOn).toEqual([]);
    expect(taskById(plan.tasks, 'A8').dependsOn).toEqual([
      'A0',
      'A1',
      'A2',
      'A3',
      'A4',
      'A5',
      'A6',
      'A7',
    ]);
    expect(taskById(plan.tasks, 'B0')).toMatchObject({ dependsOn: ['A0'], group: 'WS-B' });
    // Lanes name no agent: every one is reported.
    expect(errors).toEqual(Array(11).fill('missing-agent'));
  });

  it('esp32 poster backend: five "### Track N:" blocks, none naming an agent', () => {
    const { plan, errors } = load('stuart-c__esp32-poster-backend__MULTI_AGENT_PLAN.md');
    expect(plan.tasks.map((task) => [task.id, task.title])).toEqual([
      ['Track 1', 'Infrastructure & CI/CD'],
      ['Track 2', 'Backend API & Storage'],
      ['Track 3', 'Image Processing Pipeline'],
      ['Track 4', 'Frontend UI'],
      ['Track 5', 'Documentation'],
    ]);
    expect(taskById(plan.tasks, 'Track 1').details).toContain('pr-build-test.yml');
    expect(errors).toEqual(Array(5).fill('missing-agent'));
  });

  it('floating-object-detection: Chinese batch tables without ids get stable generated ids', () => {
    const { plan, errors, warnings } = load(
      'zhang060426-netizen__floating-object-detection__MULTI_AGENT_PLAN.md',
    );
    expect(plan.tasks).toHaveLength(12);
    expect(plan.groups.map((group) => group.id)).toEqual(['0', '1', '2']);
    expect(taskById(plan.tasks, 'G0-T1')).toMatchObject({
      title: '复核 7 份规划文档',
      agents: ['Docs'],
      group: '0',
      idGenerated: true,
      line: 60,
    });
    expect(taskById(plan.tasks, 'G0-T3').agents).toEqual(['Docs', 'Backend', 'AI']);
    expect(taskById(plan.tasks, 'G2-T5')).toMatchObject({
      title: '文档/测试同步',
      priority: 'P0-P1',
    });
    expect(errors).toEqual([]);
    // "依赖" cells name inputs ("当前文档"), not tasks: each is reported, none guessed.
    expect(warnings.filter((code) => code === 'dependency-not-understood')).toHaveLength(7);
  });
});
