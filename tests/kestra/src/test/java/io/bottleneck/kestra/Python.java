package io.bottleneck.kestra;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The project's Python, as the worker's Process runner finds it (first `python` on PATH: the
 * project's virtualenv, activated by .ci/run), and a test-only shim in front of it.
 */
final class Python {
    static final Path SHIM_DIR = Project.TARGET.resolve("shim");
    static final Path FAULTS = Project.TARGET.resolve("faults");

    private Python() {
    }

    /**
     * Test-only fault trigger: target/shim is first on the worker's PATH (surefire config), and its
     * `python` runs the real one, except once per marker file target/faults/fail-once-STAGE, when
     * it exits 4 (the pipeline's infrastructure status) for that stage's command. Nothing of this
     * is in the product: without a marker file the shim only hands over to the real interpreter.
     */
    static synchronized void installShim() throws IOException {
        Files.createDirectories(SHIM_DIR);
        Files.createDirectories(FAULTS);
        Path shim = SHIM_DIR.resolve("python");
        Files.writeString(shim, """
            #!/bin/sh
            # Test-only fault trigger (tests/kestra/.../Python.java): exit 4 once per marker file.
            for stage in ingest clean merge report classify finalize; do
              marker="%s/fail-once-$stage"
              case " $* " in *" $stage "*)
                if [ -f "$marker" ] && rm "$marker" 2>/dev/null; then
                  echo "simulated infrastructure failure (test shim): stage $stage, exit 4" >&2
                  exit 4
                fi;;
              esac
            done
            PATH=$(printf '%%s' "$PATH" | sed 's#%s:##')
            exec python "$@"
            """.formatted(FAULTS, SHIM_DIR), StandardCharsets.UTF_8);
        shim.toFile().setExecutable(true);
    }

    static void failOnce(String stage) throws IOException {
        Files.createDirectories(FAULTS);
        Files.writeString(FAULTS.resolve("fail-once-" + stage), "");
    }

    /** Runs the project's command line (python -m bottleneck_pipeline ...) and returns its exit status. */
    static int bottleneck(Path log, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("python", "-m", "bottleneck_pipeline"));
        command.addAll(List.of(args));
        return run(log, command);
    }

    /**
     * Copies the sample workbooks to {@code folder} and plants one defect in erp.xlsx: a product
     * listed twice with two different prices (the clean stage must reject it).
     */
    static Path conflictingPrice(Path folder) throws IOException, InterruptedException {
        Files.createDirectories(folder);
        for (String name : List.of("web", "liaison")) {
            Files.copy(Project.SAMPLE.resolve(name + ".xlsx"), folder.resolve(name + ".xlsx"));
        }
        String plant = """
            import sys
            from openpyxl import load_workbook
            book = load_workbook(sys.argv[1]); sheet = book.active
            header = [c.value for c in sheet[1]]
            row = [c.value for c in sheet[2]]
            row[header.index("price")] = float(row[header.index("price")]) + 5
            sheet.append(row); book.save(sys.argv[2])
            print(row[header.index("product_id")])
            """;
        Path log = folder.resolve("plant.txt");
        int status = run(log, List.of("python", "-c", plant, Project.SAMPLE.resolve("erp.xlsx").toString(),
            folder.resolve("erp.xlsx").toString()));
        if (status != 0) {
            throw new IllegalStateException(Files.readString(log));
        }
        return folder;
    }

    static int run(Path log, List<String> command) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("PYTHONPATH", Project.ROOT.resolve("namespace_files").toString());
        builder.environment().put("PATH", System.getenv("PATH").replace(SHIM_DIR + ":", ""));
        Process process = builder.start();
        if (!process.waitFor(10, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new IllegalStateException("timed out: " + command);
        }
        return process.exitValue();
    }
}
