package io.bottleneck.kestra;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import io.kestra.core.junit.annotations.KestraTest;
import io.kestra.core.models.flows.Flow;
import io.kestra.core.models.flows.FlowWithSource;
import io.kestra.core.models.validations.ValidateConstraintViolation;

import static org.assertj.core.api.Assertions.assertThat;

/** Item 1: every flow file is parsed and validated by Kestra itself, then held by its repository. */
@KestraTest
class FlowsLoadTest extends Engine {

    @Test
    void everyFlowFileLoadsWithoutViolationOrWarning() throws Exception {
        List<FlowWithSource> created = loadAllFlows();

        assertThat(Project.flowFiles()).hasSize(11);
        List<Flow> held = flowRepository.findAll(Project.TENANT);
        assertThat(held).extracting(Flow::getId).containsExactlyInAnyOrder(
            "monthly_revenue", "ingest", "ingest_test", "clean", "clean_test", "merge", "merge_test",
            "report", "report_test", "classify", "classify_test");
        assertThat(created).hasSize(11);

        Files.createDirectories(Project.E2E);
        List<Map<String, Object>> listing = held.stream()
            .sorted(java.util.Comparator.comparing(Flow::getId))
            .map(f -> Map.<String, Object>of("namespace", f.getNamespace(), "id", f.getId(), "revision", f.getRevision()))
            .toList();
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .writeValue(Project.E2E.resolve("flows.json").toFile(), listing);
    }

    @Test
    void kestraRefusesAnOptionalInputWithADefault() throws Exception {
        // The rule our offline checks missed (Kestra >= 1.1): shown here on Kestra's own validator.
        ValidateConstraintViolation check = validate("""
            id: optional_default
            namespace: bottleneck.reporting
            inputs:
              - id: erp
                type: FILE
                required: false
                defaults: nsfile:///inbox/erp.xlsx
            tasks:
              - id: hello
                type: io.kestra.plugin.core.log.Log
                message: hello
            """);
        assertThat(check.getConstraints()).contains("Inputs with a default value must be required");
    }

    @Test
    void kestraWarnsOnATimeoutItWouldIgnore() throws Exception {
        ValidateConstraintViolation check = validate("""
            id: subflow_timeout
            namespace: bottleneck.reporting
            tasks:
              - id: child
                type: io.kestra.plugin.core.flow.Subflow
                namespace: bottleneck.reporting
                flowId: subflow_timeout
                timeout: PT30M
            """);
        assertThat(check.getWarnings()).contains(
            "The task 'child' cannot use the 'timeout' property as it's only relevant for runnable tasks.");
    }
}
