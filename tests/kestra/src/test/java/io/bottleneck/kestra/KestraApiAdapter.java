package io.bottleneck.kestra;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.kestra.core.models.flows.FlowSource;
import io.kestra.core.models.flows.FlowWithSource;
import io.kestra.core.models.flows.GenericFlow;
import io.kestra.core.models.namespaces.files.NamespaceFileMetadata;
import io.kestra.core.models.validations.ValidateConstraintViolation;
import io.kestra.core.repositories.FlowRepositoryInterface;
import io.kestra.core.serializers.JacksonMapper;
import io.kestra.core.services.FlowService;
import io.kestra.core.storages.Namespace;
import io.kestra.core.storages.NamespaceFactory;
import io.kestra.core.storages.StorageInterface;

/**
 * NOT Kestra's API. Kestra's webserver module (its REST API) is not published to Maven Central,
 * so this thin HTTP adapter, in the test sources only, maps the few paths scripts/deploy.py uses
 * onto the engine services Kestra's own controllers call (FlowController: FlowService.validate,
 * FlowService.create, FlowRepository.update/findByIdWithSource/findByNamespace/delete;
 * NamespaceFileController: Namespace.putFile/getFileContent/children/delete). Paths and shapes
 * follow openapi-2.0.yml (checked separately by tests/test_deploy.py); status codes and error
 * bodies are simplified. It counts write requests, so a test can show a second deploy writes nothing.
 */
final class KestraApiAdapter implements AutoCloseable {
    private static final Pattern FLOW = Pattern.compile("/api/v1/([^/]+)/flows/([^/]+)/([^/]+)");
    private static final Pattern FLOWS_OF_NAMESPACE = Pattern.compile("/api/v1/([^/]+)/flows/([^/]+)");
    private static final Pattern FILES = Pattern.compile("/api/v1/([^/]+)/namespaces/([^/]+)/files(/directory)?");

    private final FlowService flowService;
    private final FlowRepositoryInterface flowRepository;
    private final NamespaceFactory namespaceFactory;
    private final StorageInterface storage;
    private final ObjectMapper json = JacksonMapper.ofJson();
    private final HttpServer server;
    final AtomicInteger writes = new AtomicInteger();
    final List<String> requests = new ArrayList<>();

    KestraApiAdapter(FlowService flowService, FlowRepositoryInterface flowRepository, NamespaceFactory namespaceFactory,
                     StorageInterface storage) throws IOException {
        this.flowService = flowService;
        this.flowRepository = flowRepository;
        this.namespaceFactory = namespaceFactory;
        this.storage = storage;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        this.server.createContext("/", this::handle);
        this.server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }

    private void handle(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getPath();
        Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
        byte[] body = exchange.getRequestBody().readAllBytes();
        synchronized (requests) {
            requests.add(method + " " + path);
        }
        if (!method.equals("GET") && !path.endsWith("/flows/validate")) {
            writes.incrementAndGet();
        }
        try {
            Matcher m;
            if (method.equals("POST") && path.equals("/api/v1/main/flows/validate")) {
                List<ValidateConstraintViolation> result = flowService.validate(Project.TENANT,
                    List.of(new FlowSource(null, new String(body, StandardCharsets.UTF_8))));
                send(exchange, 200, json.writeValueAsBytes(result));
            } else if (method.equals("POST") && path.equals("/api/v1/main/flows")) {
                ValidateConstraintViolation check = flowService.validate(Project.TENANT,
                    List.of(new FlowSource(null, text(body)))).getFirst();
                if (check.getConstraints() != null) {
                    send(exchange, 422, message(check.getConstraints()));
                } else {
                    send(exchange, 200, json.writeValueAsBytes(flowService.importFlow(Project.TENANT, text(body))));
                }
            } else if ((m = FLOW.matcher(path)).matches()) {
                Optional<FlowWithSource> existing = flowRepository.findByIdWithSource(m.group(1), m.group(2), m.group(3));
                switch (method) {
                    case "GET" -> {
                        if (existing.isEmpty()) {
                            send(exchange, 404, message("flow not found"));
                        } else {
                            send(exchange, 200, json.writeValueAsBytes(existing.get()));
                        }
                    }
                    case "PUT" -> {
                        ValidateConstraintViolation check = flowService.validate(Project.TENANT,
                            List.of(new FlowSource(null, text(body)))).getFirst();
                        if (check.getConstraints() != null) {
                            send(exchange, 422, message(check.getConstraints()));
                        } else {
                            send(exchange, 200, json.writeValueAsBytes(
                                flowRepository.update(GenericFlow.fromYaml(Project.TENANT, text(body)), existing.orElseThrow())));
                        }
                    }
                    case "DELETE" -> {
                        flowRepository.delete(existing.orElseThrow());
                        send(exchange, 204, new byte[0]);
                    }
                    default -> send(exchange, 405, message(method));
                }
            } else if (method.equals("GET") && (m = FLOWS_OF_NAMESPACE.matcher(path)).matches()) {
                send(exchange, 200, json.writeValueAsBytes(flowRepository.findByNamespace(m.group(1), m.group(2))));
            } else if ((m = FILES.matcher(path)).matches()) {
                files(exchange, method, namespaceFactory.of(m.group(1), m.group(2), storage), m.group(3) != null,
                    query.getOrDefault("path", "/"), exchange.getRequestHeaders().getFirst("Content-Type"), body);
            } else {
                send(exchange, 404, message("no such path in this adapter: " + method + " " + path));
            }
        } catch (Exception e) {
            send(exchange, 422, message(String.valueOf(e.getMessage())));
        }
    }

    private void files(HttpExchange exchange, String method, Namespace namespace, boolean directory, String path,
                       String contentType, byte[] body) throws Exception {
        if (directory) {  // GET .../files/directory?path=/x : the entries directly below x
            List<Map<String, Object>> entries = new ArrayList<>();
            String parent = path.endsWith("/") ? path : path + "/";
            for (NamespaceFileMetadata child : namespace.children(parent, false)) {
                String name = Path.of(child.getPath()).getFileName().toString();
                entries.add(Map.of("fileName", name, "type", child.isDirectory() ? "Directory" : "File"));
            }
            send(exchange, 200, json.writeValueAsBytes(entries));
            return;
        }
        switch (method) {
            case "GET" -> {
                if (!namespace.exists(Path.of(path))) {
                    send(exchange, 404, message("file not found"));
                    return;
                }
                try (InputStream in = namespace.getFileContent(Path.of(path))) {
                    send(exchange, 200, in.readAllBytes());
                }
            }
            case "POST" -> {
                namespace.putFile(Path.of(path), new ByteArrayInputStream(multipartFile(contentType, body, "fileContent")));
                send(exchange, 200, new byte[0]);
            }
            case "DELETE" -> {
                namespace.delete(Path.of(path));
                send(exchange, 204, new byte[0]);
            }
            default -> send(exchange, 405, message(method));
        }
    }

    /** The bytes of one part of a multipart/form-data body. */
    static byte[] multipartFile(String contentType, byte[] body, String field) {
        String boundary = "--" + contentType.replaceAll(".*boundary=\"?([^\";]+)\"?.*", "$1");
        String latin = new String(body, StandardCharsets.ISO_8859_1);  // byte-preserving
        for (String part : latin.split(Pattern.quote(boundary))) {
            int headersEnd = part.indexOf("\r\n\r\n");
            if (headersEnd < 0 || !part.substring(0, headersEnd).contains("name=\"" + field + "\"")) {
                continue;
            }
            String content = part.substring(headersEnd + 4, part.length() - 2);  // minus the CRLF before the boundary
            return content.getBytes(StandardCharsets.ISO_8859_1);
        }
        throw new IllegalArgumentException("no multipart field " + field);
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new HashMap<>();
        if (raw != null) {
            for (String pair : raw.split("&")) {
                String[] kv = pair.split("=", 2);
                out.put(URLDecoder.decode(kv[0], StandardCharsets.UTF_8), kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
            }
        }
        return out;
    }

    private static String text(byte[] body) {
        return new String(body, StandardCharsets.UTF_8);
    }

    private byte[] message(String text) throws IOException {
        return json.writeValueAsBytes(Map.of("message", text));
    }

    private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, status == 204 ? -1 : body.length);
        if (status != 204) {
            exchange.getResponseBody().write(body);
        }
        exchange.close();
    }
}
