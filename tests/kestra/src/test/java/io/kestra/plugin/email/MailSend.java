package io.kestra.plugin.email;

import java.util.List;
import java.util.Map;

import io.kestra.core.models.property.Property;
import io.kestra.core.models.tasks.RunnableTask;
import io.kestra.core.models.tasks.Task;
import io.kestra.core.models.tasks.VoidOutput;
import io.kestra.core.runners.RunContext;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;

/**
 * STAND-IN, test sources only: io.kestra.plugin:plugin-email is not served by our Maven registry.
 * Same type name and the properties of the published MailSend that our flow uses, so the parent
 * flow loads; it sends nothing and logs the subject and body, so a test can read them back.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode
@Getter
@NoArgsConstructor
public class MailSend extends Task implements RunnableTask<VoidOutput> {
    public enum TransportStrategy { SMTP, SMTPS, SMTP_TLS, SMTP_OAUTH2 }

    protected Property<String> host;
    protected Property<Integer> port;
    protected Property<TransportStrategy> transportStrategy;
    protected Property<String> username;
    protected Property<String> password;
    protected Property<String> from;
    protected Property<String> to;
    protected Property<String> cc;
    protected Property<String> bcc;
    protected Property<String> subject;
    protected Property<String> htmlTextContent;
    protected Property<String> plainTextContent;
    protected Property<List<Map<String, Object>>> attachments;

    @Override
    public VoidOutput run(RunContext runContext) throws Exception {
        runContext.logger().info("[stand-in, not sent] e-mail '{}': {}",
            runContext.render(subject).as(String.class).orElse(""),
            runContext.render(htmlTextContent).as(String.class).orElse(""));
        return null;
    }
}
