package io.bottleneck.kestra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Where the project's files are, seen from tests/kestra (Maven's working directory). */
final class Project {
    static final String TENANT = "main";
    static final String NAMESPACE = "bottleneck.reporting";
    static final String PARENT = "monthly_revenue";
    static final List<String> STAGES = List.of("ingest", "clean", "merge", "report", "classify");

    static final Path ROOT = Path.of("").toAbsolutePath().resolve("../..").normalize();
    static final Path SAMPLE = ROOT.resolve("data/sample");
    static final Path REAL = ROOT.resolve("../shared/data/bottleneck-p10").normalize();
    /** Maven's build directory (target/, or target-kestra-2.0/ for the 2.0 profile). */
    static final Path TARGET = Path.of(System.getProperty("engine.target", "target")).toAbsolutePath();
    static final Path E2E = TARGET.resolve("e2e");

    private Project() {
    }

    /** Every flow file, with the one rule deploy.py uses: *.yml and *.yaml of flows/ and subflows/. */
    static List<Path> flowFiles() {
        return Stream.of("flows", "subflows")
            .flatMap(folder -> list(ROOT.resolve(folder)).stream())
            .filter(p -> p.getFileName().toString().matches(".*\\.ya?ml"))
            .sorted()
            .toList();
    }

    /** The package uploaded as namespace files: what deploy.py uploads (no caches, no build metadata). */
    static List<Path> namespaceFiles() {
        Path base = ROOT.resolve("namespace_files");
        try (Stream<Path> walk = Files.walk(base)) {
            return walk.filter(Files::isRegularFile)
                .filter(p -> shipped(base.relativize(p)))
                .sorted()
                .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean shipped(Path relative) {
        for (Path part : relative) {
            if (part.toString().equals("__pycache__") || part.toString().endsWith(".egg-info")) {
                return false;
            }
        }
        return !relative.toString().endsWith(".pyc");
    }

    static boolean realWorkbooksPresent() {
        return Files.isRegularFile(REAL.resolve("erp.xlsx"));
    }

    private static List<Path> list(Path folder) {
        try (Stream<Path> files = Files.list(folder)) {
            return files.toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
