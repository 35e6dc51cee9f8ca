package io.kestra.plugin.slack.notifications;

import io.kestra.core.models.property.Property;
import io.kestra.core.models.tasks.RunnableTask;
import io.kestra.core.models.tasks.Task;
import io.kestra.core.models.tasks.VoidOutput;
import io.kestra.core.runners.RunContext;
import jakarta.validation.constraints.NotNull;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;

/**
 * STAND-IN, test sources only: io.kestra.plugin:plugin-slack is not served by our Maven registry.
 * Same type name and the properties our flow uses (url, messageText, payload), so the parent flow
 * loads; it sends nothing and logs the text it would post, so a test can read it back.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode
@Getter
@NoArgsConstructor
public class SlackIncomingWebhook extends Task implements RunnableTask<VoidOutput> {
    @NotNull
    protected Property<String> url;
    protected Property<String> payload;
    protected Property<String> messageText;

    @Override
    public VoidOutput run(RunContext runContext) throws Exception {
        runContext.logger().info("[stand-in, not sent] Slack message: {}",
            runContext.render(messageText).as(String.class).orElse(""));
        return null;
    }
}
