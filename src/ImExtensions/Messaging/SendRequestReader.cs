using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>Turns an uplink publish into a valid <see cref="SendRequest"/>, or says why it is refused: size, schema, emptiness, content.</summary>
internal sealed class SendRequestReader(IContentFilter contentFilter, IOptions<ChatOptions> options)
{
    private readonly ChatOptions _options = options.Value;

    // What a refused payload reads as (an empty client message id); shared, callers only read it.
    private static readonly SendRequest Unreadable = new();

    public bool TryRead(in UplinkPublish message, out SendRequest request, out UplinkRejection rejection)
    {
        request = Unreadable;
        rejection = default;
        if (message.Payload.Length > _options.MaxPayloadBytes)
        {
            rejection = UplinkRejection.TooLarge(_options.MaxPayloadBytes);
            return false;
        }

        var payload = message.Payload;
        if (!PayloadCodec.TryDecode(SendRequest.Parser, payload, PayloadCodec.Detect(payload, message.ContentType), out var decoded, out var error))
        {
            rejection = UplinkRejection.InvalidPayload(error!);
            return false;
        }

        request = decoded!;
        if (request.Text.Length == 0 && request.Data.IsEmpty)
        {
            rejection = UplinkRejection.InvalidPayload("a message needs text or data");
            return false;
        }

        if (request.ClientMsgId.Length > _options.MaxClientMsgIdLength)
        {
            rejection = UplinkRejection.InvalidPayload($"client_msg_id is longer than {_options.MaxClientMsgIdLength}");
            request.ClientMsgId = "";
            return false;
        }

        if (request.Text.Length > 0)
        {
            var verdict = contentFilter.Review(request.Text);
            if (verdict.Rejected)
            {
                rejection = UplinkRejection.ContentRejected(verdict.Reason ?? "the text contains blocked words");
                return false;
            }

            request.Text = verdict.Text;
        }

        return true;
    }
}
