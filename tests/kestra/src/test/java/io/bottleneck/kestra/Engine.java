package io.bottleneck.kestra;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import org.slf4j.event.Level;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.executions.LogEntry;
import io.kestra.core.models.executions.TaskRun;
import io.kestra.core.models.flows.Flow;
import io.kestra.core.models.flows.FlowSource;
import io.kestra.core.models.flows.FlowWithSource;
import io.kestra.core.models.flows.State;
import io.kestra.core.models.validations.ValidateConstraintViolation;
import io.kestra.core.repositories.ExecutionRepositoryInterface;
import io.kestra.core.repositories.FlowRepositoryInterface;
import io.kestra.core.runners.FlowInputOutput;
import io.kestra.core.runners.TestRunnerUtils;
import io.kestra.core.services.ExecutionLogService;
import io.kestra.core.serializers.YamlParser;
import io.kestra.core.services.FlowService;
import io.kestra.core.storages.NamespaceFactory;
import io.kestra.core.storages.StorageInterface;
import io.kestra.plugin.core.flow.Subflow;
import jakarta.inject.Inject;

import static io.bottleneck.kestra.Project.NAMESPACE;
import static io.bottleneck.kestra.Project.TENANT;

/**
 * What every engine test needs from the real engine: Kestra's own services, injected by the
 * in-process Micronaut context that {@code @KestraTest} starts (executor, worker, memory/H2
 * repository, local storage).
 */
abstract class Engine {
    static final Duration RUN_TIMEOUT = Duration.ofMinutes(10);

    static {
        // The local storage outlives the in-memory repository: start each test JVM with an empty
        // one, or a namespace file of an earlier run would still be readable through nsfile://.
        try {
            Path storage = Project.TARGET.resolve("kestra-storage");
            if (Files.exists(storage)) {
                try (var walk = Files.walk(storage)) {
                    walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Inject protected FlowService flowService;
    @Inject protected FlowRepositoryInterface flowRepository;
    @Inject protected ExecutionRepositoryInterface executionRepository;
    @Inject protected ExecutionLogService logService;  // same API in Kestra 1.3 and 2.0
    @Inject protected FlowInputOutput flowInputOutput;
    @Inject protected TestRunnerUtils runner;
    @Inject protected StorageInterface storage;
    @Inject protected NamespaceFactory namespaceFactory;
    @Inject protected io.micronaut.context.ApplicationContext applicationContext;

    /** Kestra's own validation of a flow source: violations and warnings, as the validate API gives them. */
    ValidateConstraintViolation validate(Path file) throws IOException {
        String source = Files.readString(file);
        return flowService.validate(TENANT, List.of(new FlowSource(file.getFileName().toString(), source))).getFirst();
    }

    /**
     * Validates and creates every flow file, callees first (so that Kestra's check that a called
     * subflow exists runs for real); fails on any violation or warning, with Kestra's message.
     */
    List<FlowWithSource> loadAllFlows() throws Exception {
        Map<String, Path> byId = new LinkedHashMap<>();
        Map<String, List<String>> calls = new HashMap<>();
        for (Path file : Project.flowFiles()) {  // one parse per file: its id and the subflows it calls
            Flow flow = YamlParser.parse(Files.readString(file), Flow.class);
            byId.put(flow.getId(), file);
            calls.put(flow.getId(), flow.allTasksWithChilds().stream()
                .filter(Subflow.class::isInstance).map(t -> ((Subflow) t).getFlowId()).toList());
        }
        List<FlowWithSource> created = new ArrayList<>();
        for (String id : calleesFirst(byId.keySet(), calls)) {
            Path file = byId.get(id);
            ValidateConstraintViolation check = validate(file);
            if (check.getConstraints() != null || !check.getWarnings().isEmpty()) {
                throw new AssertionError(file.getFileName() + " refused by Kestra: constraints=" + check.getConstraints()
                    + " warnings=" + check.getWarnings());
            }
            // importFlow: creates (or updates) the flow just validated; the same call in 1.3 and 2.0.
            created.add(flowService.importFlow(TENANT, Files.readString(file)));
        }
        return created;
    }

    private static List<String> calleesFirst(java.util.Set<String> ids, Map<String, List<String>> calls) {
        List<String> order = new ArrayList<>();
        Deque<String> stack = new ArrayDeque<>();
        for (String id : ids) {
            visit(id, calls, order, stack);
        }
        return order;
    }

    private static void visit(String id, Map<String, List<String>> calls, List<String> order, Deque<String> stack) {
        if (order.contains(id) || !calls.containsKey(id)) {
            return;
        }
        if (stack.contains(id)) {
            throw new AssertionError("subflow cycle through " + id);
        }
        stack.push(id);
        calls.get(id).forEach(callee -> visit(callee, calls, order, stack));
        stack.pop();
        order.add(id);
    }

    /** What every test that runs flows starts from: the flows and the package, deployed once per engine. */
    void deployOnce() throws Exception {
        Python.installShim();
        if (flowRepository.findById(TENANT, NAMESPACE, Project.PARENT).isEmpty()) {
            loadAllFlows();
            uploadNamespaceFiles();
        }
    }

    /** Kestra's validation of a flow given as text (for flows the tests write themselves). */
    ValidateConstraintViolation validate(String source) {
        return flowService.validate(TENANT, List.of(new FlowSource("inline.yml", source))).getFirst();
    }

    /** Uploads the package as namespace files, the way Kestra's API does (NamespaceFactory). */
    void uploadNamespaceFiles() throws Exception {
        var namespace = namespaceFactory.of(TENANT, NAMESPACE, storage);
        Path base = Project.ROOT.resolve("namespace_files");
        for (Path file : Project.namespaceFiles()) {
            try (InputStream in = Files.newInputStream(file)) {
                namespace.putFile(Path.of("/" + base.relativize(file).toString().replace('\\', '/')), in);
            }
        }
    }

    void putNamespaceFile(String path, Path file) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            namespaceFactory.of(TENANT, NAMESPACE, storage).putFile(Path.of(path), in);
        }
    }

    /** Runs a flow with inputs (local paths for FILE inputs are uploaded by Kestra) and waits for its end. */
    Execution run(String flowId, Map<String, Object> inputs) throws Exception {
        return runner.runOne(TENANT, NAMESPACE, flowId, null,
            (flow, execution) -> flowInputOutput.readExecutionInputs(flow, execution, inputs), RUN_TIMEOUT);
    }

    static Map<String, Object> workbooks(Path folder) {
        Map<String, Object> inputs = new HashMap<>();
        for (String name : List.of("erp", "web", "liaison")) {
            inputs.put(name, folder.resolve(name + ".xlsx").toString());
        }
        return inputs;
    }

    Execution execution(String id) {
        return executionRepository.findById(TENANT, id).orElseThrow();
    }

    /**
     * An execution's flow outputs. Kestra 1.3 keeps them in the execution; 2.0 in a store read
     * through its ExecutionOutputService (absent from 1.3, hence the lookup by name).
     */
    Map<String, Object> outputs(Execution execution) {
        return execution.getOutputs() != null ? execution.getOutputs()
            : fromOutputService("io.kestra.core.services.ExecutionOutputService", execution);
    }

    /** A task run's outputs (1.3: in the task run; 2.0: TaskOutputService). */
    Map<String, Object> outputs(TaskRun taskRun) {
        return taskRun.getOutputs() != null ? taskRun.getOutputs()
            : fromOutputService("io.kestra.core.services.TaskOutputService", taskRun);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> fromOutputService(String service, Object of) {
        try {
            Class<?> type = Class.forName(service);
            Object bean = applicationContext.getBean(type);
            return (Map<String, Object>) type.getMethod("getOutputs", of.getClass()).invoke(bean, of);
        } catch (ReflectiveOperationException e) {
            return Map.of();
        }
    }

    /** The child execution a Subflow task run started (its outputs hold the id, also when it failed). */
    Execution child(Execution parent, String taskId) {
        return execution((String) outputs(taskRun(parent, taskId)).get("executionId"));
    }

    static TaskRun taskRun(Execution execution, String taskId) {
        return execution.getTaskRunList().stream().filter(t -> t.getTaskId().equals(taskId)).findFirst()
            .orElseThrow(() -> new AssertionError("no task run " + taskId + " in " + execution.getFlowId()));
    }

    /** The execution's logs; Kestra indexes them asynchronously, so this polls until {@code ready}. */
    List<LogEntry> logs(Execution execution, Predicate<List<LogEntry>> ready) throws InterruptedException {
        List<LogEntry> logs = List.of();
        for (int i = 0; i < 100; i++) {
            logs = logService.getExecutionLogs(TENANT, execution.getId(), Level.TRACE, null, null, null, false);
            if (ready.test(logs)) {
                return logs;
            }
            Thread.sleep(100);
        }
        return logs;
    }

    /** The logs of an execution and of every execution it started, for failure messages. */
    String story(Execution execution) throws InterruptedException {
        StringBuilder out = new StringBuilder("== " + execution.getFlowId() + " " + state(execution) + "\n");
        out.append(text(logs(execution, l -> !l.isEmpty())));
        for (TaskRun taskRun : execution.getTaskRunList()) {
            Object childId = outputs(taskRun).get("executionId");
            if (childId != null) {
                out.append("\n").append(story(execution(childId.toString())));
            }
        }
        return out.toString();
    }

    static String text(List<LogEntry> logs) {
        return logs.stream().map(l -> "[" + l.getTaskId() + "] " + l.getMessage()).collect(Collectors.joining("\n"));
    }

    byte[] read(Object kestraUri) throws IOException {
        try (InputStream in = storage.get(TENANT, NAMESPACE, URI.create(kestraUri.toString()))) {
            return in.readAllBytes();
        }
    }

    static State.Type state(Execution execution) {
        return execution.getState().getCurrent();
    }
}
