package io.bottleneck.kestra;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.kestra.core.junit.annotations.KestraTest;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.executions.LogEntry;
import io.kestra.core.models.executions.TaskRun;
import io.kestra.core.models.flows.State;

import static io.bottleneck.kestra.Project.PARENT;
import static org.assertj.core.api.Assertions.assertThat;

/** Items 4 and 5: a data rejection stops the run, never retried, with an actionable alert; an infrastructure failure is retried. */
@KestraTest(startRunner = true)
class FailureHandlingTest extends Engine {
    private static final String CHECK_MESSAGE = "valeurs différentes";

    @BeforeEach
    void deploy() throws Exception {
        deployOnce();
    }

    @Test
    void aConflictingPriceStopsTheRunWithAnAlertThatSaysWhy() throws Exception {
        Path inputs = Python.conflictingPrice(Files.createTempDirectory("conflicting-price"));
        Map<String, Object> withPeriod = new java.util.HashMap<>(workbooks(inputs));
        withPeriod.put("period", "2026-09");

        Execution run = run(PARENT, withPeriod);

        assertThat(state(run)).as(story(run)).isEqualTo(State.Type.FAILED);
        assertThat(taskRun(run, "clean").getState().getCurrent()).isEqualTo(State.Type.FAILED);
        assertThat(run.getTaskRunList()).extracting(TaskRun::getTaskId).doesNotContain("merge", "finalize");

        // Nothing of a rejected month joins the history the next month compares with.
        assertThat(namespaceFactory.of(Project.TENANT, Project.NAMESPACE, storage)
            .exists(java.nio.file.Path.of("/history/2026-09/run_summary.json"))).isFalse();

        // The failing stage's execution holds the check's French message; the rejection is not retried.
        Execution clean = child(run, "clean");
        assertThat(state(clean)).isEqualTo(State.Type.FAILED);
        String cleanStory = story(clean);
        assertThat(cleanStory).contains("clean.erp.unique_product_id").contains(CHECK_MESSAGE);
        for (TaskRun taskRun : clean.getTaskRunList()) {
            assertThat(taskRun.getAttempts() == null ? 1 : taskRun.getAttempts().size())
                .as("attempts of " + taskRun.getTaskId()).isEqualTo(1);
        }

        // The errors branch ran, and its alert names the period, the stage and the check's message.
        assertThat(run.getTaskRunList()).extracting(TaskRun::getTaskId).contains("log_failure");
        List<LogEntry> logs = logs(run, l -> l.stream().anyMatch(e -> "log_failure".equals(e.getTaskId())));
        String alert = logs.stream().filter(e -> "log_failure".equals(e.getTaskId())).map(LogEntry::getMessage)
            .findFirst().orElseThrow();
        System.out.println("Alert text, as the parent logged it:\n" + alert);
        assertThat(taskRun(run, "compose_alert").getState().getCurrent()).as(text(logs)).isEqualTo(State.Type.SUCCESS);
        assertThat(alert).contains("période 2026-09").contains("Étape en échec : clean (nettoyage)")
            .contains("clean.erp.unique_product_id").contains(CHECK_MESSAGE)
            .contains("http://localhost:8080/ui/main/executions/bottleneck.reporting/clean/" + clean.getId());
        assertThat(alert).doesNotContain("Failed to extract outputs").doesNotContain("Unable to find")
            .doesNotContain("Exception").doesNotContain("{{").doesNotContain("Fail on a condition");
    }

    @Test
    void anInfrastructureFailureIsRetriedAndTheRunSucceeds() throws Exception {
        Python.failOnce("merge");
        Map<String, Object> withPeriod = new java.util.HashMap<>(workbooks(Project.SAMPLE));
        withPeriod.put("period", "2026-08");

        Execution run = run(PARENT, withPeriod);

        assertThat(state(run)).as(story(run)).isEqualTo(State.Type.SUCCESS);
        Execution merge = child(run, "merge");
        TaskRun stageTask = taskRun(merge, "run");
        assertThat(stageTask.getAttempts()).hasSize(2);
        assertThat(stageTask.getAttempts().getFirst().getState().getCurrent()).isEqualTo(State.Type.FAILED);
        assertThat(stageTask.getAttempts().getLast().getState().getCurrent()).isEqualTo(State.Type.SUCCESS);
        assertThat(story(merge)).contains("simulated infrastructure failure (test shim): stage merge, exit 4");
        assertThat(Files.exists(Python.FAULTS.resolve("fail-once-merge"))).isFalse();
        assertThat(outputs(run).get("products")).isEqualTo(521);
    }
}
