package io.kestra.plugin.scripts.python;

import java.util.List;
import java.util.Map;

import io.kestra.core.models.property.Property;
import io.kestra.core.models.tasks.RunnableTask;
import io.kestra.core.models.tasks.runners.TargetOS;
import io.kestra.core.runners.RunContext;
import io.kestra.plugin.scripts.exec.AbstractExecScript;
import io.kestra.plugin.scripts.exec.scripts.models.ScriptOutput;
import jakarta.validation.constraints.NotNull;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;

/**
 * STAND-IN, test sources only: io.kestra.plugin:plugin-script-python is not served by our Maven
 * registry (no io.kestra.plugin artifact is; see tests/kestra/README.md), so this class takes its
 * place under the same type name. It is built on Kestra's real script library (io.kestra:script):
 * the properties of AbstractExecScript (taskRunner, namespaceFiles, inputFiles, outputFiles, env,
 * beforeCommands, timeout, retry...) and its run path (CommandsWrapper, then the real Process task
 * runner: working directory, namespace files, `::{"outputs":...}::` parsing, output files) are
 * Kestra's own. It declares the published task's Python properties so that flows parse the same,
 * sets the same environment (PYTHONUNBUFFERED...), and differs in one point: it does not resolve
 * the interpreter or install `dependencies` through uv (our flows use neither; it refuses them).
 */
@SuperBuilder
@ToString
@EqualsAndHashCode
@Getter
@NoArgsConstructor
public class Commands extends AbstractExecScript implements RunnableTask<ScriptOutput> {
    @Builder.Default
    protected Property<String> containerImage = Property.ofValue("python:3.13-slim");

    protected Property<List<String>> dependencies;
    protected Property<String> pythonVersion;
    @Builder.Default
    protected Property<Boolean> dependencyCacheEnabled = Property.ofValue(true);
    protected Property<String> packageManager;
    @Builder.Default
    protected Property<Boolean> uvAutoInstallEnabled = Property.ofValue(true);
    protected Property<String> uvInstallerVersion;
    protected Property<String> uvInstallerSha256;

    @NotNull
    protected Property<List<String>> commands;

    @Override
    public ScriptOutput run(RunContext runContext) throws Exception {
        if (!runContext.render(dependencies).asList(String.class).isEmpty()) {
            throw new IllegalArgumentException("stand-in python.Commands: 'dependencies' needs the real plugin (uv)");
        }
        TargetOS os = runContext.render(this.targetOS).as(TargetOS.class).orElse(null);
        return this.commands(runContext)
            .addEnv(Map.of("PYTHONUNBUFFERED", "true", "PIP_DISABLE_PIP_VERSION_CHECK", "1"))
            .withInterpreter(this.interpreter)
            .withBeforeCommands(beforeCommands)
            .withBeforeCommandsWithOptions(true)
            .withCommands(commands)
            .withTargetOS(os)
            .run();
    }
}
