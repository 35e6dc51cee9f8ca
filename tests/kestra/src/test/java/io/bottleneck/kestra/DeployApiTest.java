package io.bottleneck.kestra;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.kestra.core.junit.annotations.KestraTest;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.Flow;
import io.kestra.core.models.flows.State;

import static io.bottleneck.kestra.Project.NAMESPACE;
import static io.bottleneck.kestra.Project.PARENT;
import static io.bottleneck.kestra.Project.TENANT;
import static org.assertj.core.api.Assertions.assertThat;

/** Item 7: scripts/deploy.py, run as a subprocess, deploys into the running engine (through KestraApiAdapter, not Kestra's API). */
@KestraTest(startRunner = true)
class DeployApiTest extends Engine {

    @Test
    void deployPyDeploysEverythingTheParentRunsFromItAndASecondDeployWritesNothing() throws Exception {
        Python.installShim();
        try (KestraApiAdapter api = new KestraApiAdapter(flowService, flowRepository, namespaceFactory, storage)) {
            Path log = Files.createTempFile("deploy", ".txt");
            int status = Python.run(log, List.of("python", Project.ROOT.resolve("scripts/deploy.py").toString(),
                "--server", api.url()));
            String first = Files.readString(log);
            System.out.println("deploy.py, first run:\n" + first);
            assertThat(status).as(first).isZero();
            assertThat(flowRepository.findAll(TENANT)).extracting(Flow::getId).hasSize(11).contains(PARENT);
            var namespace = namespaceFactory.of(TENANT, NAMESPACE, storage);
            Path base = Project.ROOT.resolve("namespace_files");
            for (Path file : Project.namespaceFiles()) {
                Path remote = Path.of("/" + base.relativize(file));
                assertThat(namespace.exists(remote)).as(remote.toString()).isTrue();
                try (var in = namespace.getFileContent(remote)) {
                    assertThat(in.readAllBytes()).as(remote.toString()).isEqualTo(Files.readAllBytes(file));
                }
            }

            int writesBefore = api.writes.get();
            status = Python.run(log, List.of("python", Project.ROOT.resolve("scripts/deploy.py").toString(),
                "--server", api.url()));
            String second = Files.readString(log);
            System.out.println("deploy.py, second run:\n" + second);
            assertThat(status).as(second).isZero();
            assertThat(api.writes.get()).as("write requests of the second deploy").isEqualTo(writesBefore);
        }

        // The parent, executed from what deploy.py put in the engine.
        Execution run = run(PARENT, new java.util.HashMap<>(java.util.Map.of("erp", Project.SAMPLE.resolve("erp.xlsx").toString(),
            "web", Project.SAMPLE.resolve("web.xlsx").toString(), "liaison", Project.SAMPLE.resolve("liaison.xlsx").toString(),
            "period", "2026-06")));
        assertThat(state(run)).as(story(run)).isEqualTo(State.Type.SUCCESS);
        assertThat(outputs(run).get("ca_total")).isEqualTo("179361.09");
    }
}
