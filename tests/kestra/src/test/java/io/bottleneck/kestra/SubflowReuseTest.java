package io.bottleneck.kestra;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.kestra.core.junit.annotations.KestraTest;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.Flow;
import io.kestra.core.models.flows.State;

import static io.bottleneck.kestra.Project.NAMESPACE;
import static io.bottleneck.kestra.Project.TENANT;
import static org.assertj.core.api.Assertions.assertThat;

/** Item 6: another team runs single stage subflows, and single quality gates, with inputs of its own. */
@KestraTest(startRunner = true)
class SubflowReuseTest extends Engine {

    @BeforeEach
    void deploy() throws Exception {
        deployOnce();
    }

    @Test
    void eachStageRunsAloneWithItsOwnInputsAndAGateAloneRejectsTamperedOutput() throws Exception {
        Execution ingest = stage("ingest", workbooks(Project.SAMPLE));
        Execution clean = stage("clean", Map.of("erp", out(ingest, "erp"), "web", out(ingest, "web"),
            "liaison", out(ingest, "liaison")));
        Execution merge = stage("merge", Map.of("erp", out(clean, "erp"), "web", out(clean, "web"),
            "liaison", out(clean, "liaison"), "max_orphan_share", 0.05));
        Execution report = stage("report", Map.of("products", out(merge, "products"), "period", "2026-07",
            "z_threshold", 2.0));
        Execution classify = stage("classify", Map.of("revenue", out(report, "revenue"), "z_threshold", 2.0));

        // The sample's figures, as the parent flow and `bottleneck run` give them.
        assertThat(outputs(ingest).get("rows_out")).isEqualTo(2289);
        assertThat(outputs(clean).get("rows_out")).isEqualTo(1649);
        assertThat(outputs(merge).get("rows_out")).isEqualTo(521);
        assertThat(outputs(report).get("ca_total")).isEqualTo("179361.09");
        assertThat(outputs(classify).get("premium_count")).isEqualTo(13);
        assertThat(outputs(classify).get("ordinary_count")).isEqualTo(508);

        // A gate alone, on a classify output that lost a premium wine: FAILED, with its message.
        Path tampered = Files.createTempDirectory("tampered").resolve("vins_premium.csv");
        List<String> lines = new ArrayList<>(List.of(new String(read(out(classify, "premium")), StandardCharsets.UTF_8)
            .split("\n", -1)));
        lines.remove(lines.size() - 2);  // the last wine (the text ends with a newline)
        Files.writeString(tampered, String.join("\n", lines));
        Map<String, Object> gateInputs = new HashMap<>(Map.of("input_revenue", out(report, "revenue"),
            "premium", tampered.toString(), "ordinary", out(classify, "ordinary"),
            "premium_machine", out(classify, "premium_machine"), "ordinary_machine", out(classify, "ordinary_machine"),
            "manifest", out(classify, "manifest"), "z_threshold", 2.0));
        Execution gate = run("classify_test", gateInputs);

        assertThat(state(gate)).isEqualTo(State.Type.FAILED);
        String story = story(gate);
        assertThat(story).contains("[classify.partition.complete_and_disjoint] 1 vin(s) absent(s), en double ou inconnu(s)");
        System.out.println("classify_test on tampered output:\n" + story.lines().filter(l -> l.contains("classify."))
            .findFirst().orElse(""));
    }

    /** Runs one stage subflow alone; SUCCESS with every output it declares. */
    private Execution stage(String flowId, Map<String, Object> inputs) throws Exception {
        Execution execution = run(flowId, new HashMap<>(inputs));
        assertThat(state(execution)).as(story(execution)).isEqualTo(State.Type.SUCCESS);
        Flow flow = flowRepository.findById(TENANT, NAMESPACE, flowId).orElseThrow();
        assertThat(outputs(execution).keySet()).as(flowId + " outputs")
            .containsExactlyInAnyOrderElementsOf(flow.getOutputs().stream().map(o -> o.getId()).toList());
        return execution;
    }

    private Object out(Execution execution, String id) {
        return outputs(execution).get(id).toString();
    }
}
