package io.bottleneck.kestra;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import io.kestra.core.junit.annotations.KestraTest;
import io.kestra.core.models.conditions.ConditionContext;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.executions.LogEntry;
import io.kestra.core.models.executions.TaskRun;
import io.kestra.core.models.flows.Flow;
import io.kestra.core.models.flows.State;
import io.kestra.core.models.triggers.TriggerContext;
import io.kestra.core.runners.DefaultRunContext;
import io.kestra.core.runners.RunContextFactory;
import io.kestra.core.runners.RunContextInitializer;
import io.kestra.core.services.ConditionService;
import io.kestra.plugin.core.trigger.Schedule;
import jakarta.inject.Inject;

import static io.bottleneck.kestra.Project.NAMESPACE;
import static io.bottleneck.kestra.Project.PARENT;
import static io.bottleneck.kestra.Project.STAGES;
import static io.bottleneck.kestra.Project.TENANT;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The parent flow run by the real engine: end to end on the sample and the real workbooks, the
 * scheduled path, a data rejection and a retried infrastructure failure (items 2, 3, 4, 5, 8).
 */
@KestraTest(startRunner = true)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MonthlyRunTest extends Engine {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ZoneId PARIS = ZoneId.of("Europe/Paris");

    @Inject private RunContextFactory runContextFactory;
    @Inject private ConditionService conditionService;
    @Inject private RunContextInitializer runContextInitializer;

    @BeforeEach
    void deploy() throws Exception {
        deployOnce();
    }

    @Test
    void sampleRunEqualsTheLocalRun() throws Exception {
        Execution run = run(PARENT, withPeriod(workbooks(Project.SAMPLE), "2026-10"));
        assertSucceededThroughEveryStage(run);
        assertSameAsLocalRun(run, Project.SAMPLE, "2026-10", null);
    }

    @Test
    void realRunEqualsTheLocalRun() throws Exception {
        Assumptions.assumeTrue(Project.realWorkbooksPresent(), "real workbooks not available: " + Project.REAL);
        Execution run = run(PARENT, withPeriod(workbooks(Project.REAL), "2026-11"));
        assertSucceededThroughEveryStage(run);
        Path out = Project.E2E.resolve("real");
        assertSameAsLocalRun(run, Project.REAL, "2026-11", out);

        JsonNode summary = JSON.readTree(out.resolve("run_summary.json").toFile());
        // The analyst's reference figures on the real files.
        assertThat(summary.get("products").asInt()).isEqualTo(714);
        assertThat(summary.get("ca_total").decimalValue()).isEqualByComparingTo("70568.60");
        assertThat(summary.get("premium_count").asInt()).isEqualTo(30);
        assertThat(summary.get("ordinary_count").asInt()).isEqualTo(684);
        assertThat(outputs(run).get("ca_total")).isEqualTo("70568.60");
        writeTimings(run);
    }

    @Test
    void theScheduleRunsTheInboxWorkbooksForTheMonthBeforeItsDate() throws Exception {
        for (String name : List.of("erp", "web", "liaison")) {
            putNamespaceFile("/inbox/" + name + ".xlsx", Project.SAMPLE.resolve(name + ".xlsx"));
        }
        Execution run = runner.emitAndAwaitExecution(e -> e.getState().isTerminated(),
            scheduled(ZonedDateTime.of(2026, 11, 15, 9, 0, 0, 0, PARIS)), RUN_TIMEOUT);

        assertSucceededThroughEveryStage(run);
        assertThat(run.getTrigger().getId()).isEqualTo("monthly");
        // Fired on 15 November: the report is about October, the last closed month.
        assertThat(outputs(run).get("period")).isEqualTo("2026-10");
        JsonNode summary = JSON.readTree(read(outputs(run).get("run_summary")));
        assertThat(summary.get("period").asText()).isEqualTo("2026-10");
        assertThat(summary.get("products").asInt()).isEqualTo(521);  // the sample's figures
        assertThat(summary.get("ca_total").decimalValue()).isEqualByComparingTo("179361.09");
    }

    @Test
    void aPublishedMonthIsKeptAndTheNextOneIsComparedWithIt() throws Exception {
        Assumptions.assumeTrue(Project.realWorkbooksPresent(), "real workbooks not available: " + Project.REAL);
        Execution first = run(PARENT, withPeriod(workbooks(Project.SAMPLE), "2025-01"));
        assertThat(state(first)).as(story(first)).isEqualTo(State.Type.SUCCESS);
        var namespace = namespaceFactory.of(TENANT, NAMESPACE, storage);
        for (String file : List.of("run_summary.json", "vins_premium.csv", "vins_ordinaires.csv")) {
            assertThat(namespace.exists(Path.of("/history/2025-01/" + file))).as(file).isTrue();
        }
        assertThat(taskRun(first, "warn_drift").getState().getCurrent()).isEqualTo(State.Type.SKIPPED);

        Execution second = run(PARENT, withPeriod(workbooks(Project.REAL), "2025-02"));

        assertThat(state(second)).as(story(second)).isEqualTo(State.Type.SUCCESS);
        // Real month against the sample month: 70,568.60 - 179,361.09 EUR (the two reference totals).
        assertThat(outputs(second).get("previous_period")).isEqualTo("2025-01");
        assertThat(outputs(second).get("ca_change")).isEqualTo("-108792.49");
        JsonNode comparison = JSON.readTree(read(outputs(second).get("run_summary"))).get("comparison");
        assertThat(comparison.get("previous_period").asText()).isEqualTo("2025-01");
        assertThat(comparison.get("previous_ca_total").decimalValue()).isEqualByComparingTo("179361.09");
        // A 60 % fall is past the 30 % drift ceiling: a warning, the month still published.
        assertThat(taskRun(second, "warn_drift").getState().getCurrent()).isEqualTo(State.Type.SUCCESS);
        String warning = logs(second, l -> l.stream().anyMatch(e -> "warn_drift".equals(e.getTaskId()))).stream()
            .filter(e -> "warn_drift".equals(e.getTaskId())).map(LogEntry::getMessage).findFirst().orElseThrow();
        System.out.println("Drift warning, as the parent logged it:\n" + warning);
        assertThat(warning).startsWith("[BottleNeck] Avertissement, période 2025-02 (publiée) : [compare.");
    }

    @Test
    @Order(1)
    void aMissingInboxWorkbookStopsTheScheduledRunWithAClearAlert() throws Exception {
        for (String name : List.of("web", "liaison")) {
            putNamespaceFile("/inbox/" + name + ".xlsx", Project.SAMPLE.resolve(name + ".xlsx"));
        }
        // No inbox/erp.xlsx was ever uploaded in this engine: this test runs first (@Order).

        Execution run = runner.emitAndAwaitExecution(e -> e.getState().isTerminated(),
            scheduled(ZonedDateTime.of(2026, 10, 15, 9, 0, 0, 0, PARIS)), RUN_TIMEOUT);

        assertThat(state(run)).as(story(run)).isEqualTo(State.Type.FAILED);
        List<LogEntry> logs = logs(run, l -> l.stream().anyMatch(e -> "log_failure".equals(e.getTaskId())));
        String alert = logs.stream().filter(e -> "log_failure".equals(e.getTaskId())).map(LogEntry::getMessage)
            .findFirst().orElseThrow();
        System.out.println("Alert for a missing inbox workbook:\n" + alert);
        assertThat(taskRun(run, "compose_alert").getState().getCurrent()).as(story(run)).isEqualTo(State.Type.SUCCESS);
        assertThat(alert).contains("période 2026-09").contains("Étape en échec : ingest").contains("Le fichier inbox/erp.xlsx est absent des fichiers du namespace bottleneck.reporting")
            .doesNotContain("Failed to").doesNotContain("Exception").doesNotContain("{{");
    }

    @Test
    void theScheduleFiresOnThe15thAt9ParisTimeForAYear() {
        Flow flow = flowRepository.findById(TENANT, NAMESPACE, PARENT).orElseThrow();
        Schedule schedule = (Schedule) flow.getTriggers().getFirst();
        ConditionContext context = ConditionContext.builder().flow(flow).build();
        ZonedDateTime last = ZonedDateTime.of(2026, 12, 3, 10, 0, 0, 0, PARIS);
        List<String> fires = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            TriggerContext trigger = TriggerContext.builder().tenantId(TENANT).namespace(NAMESPACE).flowId(PARENT)
                .triggerId(schedule.getId()).date(last).build();
            last = schedule.nextEvaluationDate(context, Optional.of(trigger));
            fires.add(last.toOffsetDateTime().toString());
        }
        // Winter time (+01:00) until March, summer time (+02:00) from April to October.
        assertThat(fires).containsExactly(
            "2026-12-15T09:00+01:00", "2027-01-15T09:00+01:00", "2027-02-15T09:00+01:00",
            "2027-03-15T09:00+01:00", "2027-04-15T09:00+02:00", "2027-05-15T09:00+02:00",
            "2027-06-15T09:00+02:00", "2027-07-15T09:00+02:00", "2027-08-15T09:00+02:00",
            "2027-09-15T09:00+02:00", "2027-10-15T09:00+02:00", "2027-11-15T09:00+01:00");
    }

    // --- helpers -------------------------------------------------------------------------------

    /** The execution the Schedule trigger creates for a fire time: Kestra's own Schedule.evaluate, no inputs given. */
    private Execution scheduled(ZonedDateTime fireTime) throws Exception {
        Flow flow = flowRepository.findById(TENANT, NAMESPACE, PARENT).orElseThrow();
        Schedule schedule = (Schedule) flow.getTriggers().getFirst();
        TriggerContext trigger = TriggerContext.builder().tenantId(TENANT).namespace(NAMESPACE).flowId(PARENT)
            .triggerId(schedule.getId()).date(fireTime).nextExecutionDate(fireTime).build();
        // What Kestra's scheduler does before it evaluates a Schedule (AbstractScheduler).
        DefaultRunContext runContext = (DefaultRunContext) runContextFactory.of(flow, schedule);
        runContextInitializer.forScheduler(runContext, trigger, schedule);
        ConditionContext context = conditionService.conditionContext(runContext, flow, null);
        return schedule.evaluate(context, trigger).orElseThrow();
    }

    private static Map<String, Object> withPeriod(Map<String, Object> inputs, String period) {
        inputs.put("period", period);
        return inputs;
    }

    /** SUCCESS, and every stage subflow and its test subflow ran in the engine and succeeded. */
    private void assertSucceededThroughEveryStage(Execution run) throws Exception {
        assertThat(state(run)).as(story(run)).isEqualTo(State.Type.SUCCESS);
        for (String stage : STAGES) {
            assertThat(taskRun(run, stage).getState().getCurrent()).as(stage).isEqualTo(State.Type.SUCCESS);
            Execution child = child(run, stage);
            assertThat(child.getFlowId()).isEqualTo(stage);
            assertThat(state(child)).isEqualTo(State.Type.SUCCESS);
            Execution gate = child(child, "test");
            assertThat(gate.getFlowId()).isEqualTo(stage + "_test");
            assertThat(state(gate)).isEqualTo(State.Type.SUCCESS);
        }
        assertThat(run.getTaskRunList()).extracting(TaskRun::getTaskId).containsExactly(
            "ingest", "clean", "merge", "report", "classify", "finalize", "stop_if_incomplete", "deliverables_ready",
            "record_history", "warn_drift", "warn_drift_slack", "warn_drift_email");
    }

    /** The flow outputs, read back from Kestra's storage, equal what `bottleneck run` publishes. */
    private void assertSameAsLocalRun(Execution run, Path inputs, String period, Path keep) throws Exception {
        Path local = Files.createTempDirectory("local-run");
        int status = Python.bottleneck(local.resolve("run.txt"), "run", "--input", inputs.toString(),
            "--output", local.resolve("out").toString(), "--period", period);
        assertThat(status).as(Files.readString(local.resolve("run.txt"))).isZero();
        Path published = local.resolve("out").resolve(period);

        Map<String, String> files = Map.of("run_summary", "run_summary.json", "quality_report", "quality_report.json",
            "premium", "vins_premium.csv", "ordinary", "vins_ordinaires.csv", "report", "rapport_ca.xlsx");
        Map<String, byte[]> downloaded = new LinkedHashMap<>();
        for (var file : files.entrySet()) {
            downloaded.put(file.getValue(), read(outputs(run).get(file.getKey())));
        }
        if (keep != null) {
            Files.createDirectories(keep);
            for (var file : downloaded.entrySet()) {
                Files.write(keep.resolve(file.getKey()), file.getValue());
            }
        }
        for (String csv : List.of("vins_premium.csv", "vins_ordinaires.csv")) {
            assertThat(downloaded.get(csv)).as(csv).isEqualTo(Files.readAllBytes(published.resolve(csv)));
        }
        for (var machine : Map.of("premium_machine", "vins_premium.csv", "ordinary_machine", "vins_ordinaires.csv").entrySet()) {
            assertThat(read(outputs(run).get(machine.getKey()))).as("machine/" + machine.getValue())
                .isEqualTo(Files.readAllBytes(published.resolve("machine").resolve(machine.getValue())));
        }
        JsonNode engine = JSON.readTree(downloaded.get("run_summary.json"));
        JsonNode cli = JSON.readTree(published.resolve("run_summary.json").toFile());
        for (String figure : List.of("period", "products", "ca_total", "premium_count", "ordinary_count", "mean", "std")) {
            assertThat(engine.get(figure)).as(figure).isEqualTo(cli.get(figure));
        }
        for (String stage : STAGES) {  // rows in and out of each stage (not its seconds)
            for (String rows : List.of("rows_in", "rows_out")) {
                assertThat(engine.get("stages").get(stage).get(rows)).as(stage + " " + rows)
                    .isEqualTo(cli.get("stages").get(stage).get(rows));
            }
        }
        assertThat(engine.get("removed_rows")).isEqualTo(cli.get("removed_rows"));
        assertThat(new String(downloaded.get("rapport_ca.xlsx"), 0, 2, StandardCharsets.ISO_8859_1)).isEqualTo("PK");
        assertThat(outputs(run).get("ca_total")).isEqualTo(cli.get("ca_total").decimalValue().setScale(2).toPlainString());
        assertThat(outputs(run).get("products")).isEqualTo(cli.get("products").asInt());
        assertThat(outputs(run).get("premium_count")).isEqualTo(cli.get("premium_count").asInt());
        assertThat(outputs(run).get("period")).isEqualTo(period);
    }

    /** Item 8: wall time of the run, total and per task (stages: their own task runs too). */
    private void writeTimings(Execution run) throws Exception {
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("total_seconds", seconds(run.getState().getDuration().orElseThrow()));
        Map<String, Object> tasks = new LinkedHashMap<>();
        for (TaskRun taskRun : run.getTaskRunList()) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("seconds", seconds(taskRun.getState().getDuration().orElseThrow()));
            if (STAGES.contains(taskRun.getTaskId())) {
                Execution child = child(run, taskRun.getTaskId());
                Map<String, Object> inner = new LinkedHashMap<>();
                for (TaskRun childTask : child.getTaskRunList()) {
                    inner.put(childTask.getTaskId(), seconds(childTask.getState().getDuration().orElseThrow()));
                }
                entry.put("tasks", inner);
            }
            tasks.put(taskRun.getTaskId(), entry);
        }
        timings.put("tasks", tasks);
        Files.createDirectories(Project.E2E);
        JSON.writeValue(Project.E2E.resolve("timings.json").toFile(), timings);
        System.out.println("Real workbooks, parent run in the engine: " + JSON.writeValueAsString(timings));
    }

    private static double seconds(Duration duration) {
        return Math.round(duration.toMillis() / 10.0) / 100.0;
    }
}
