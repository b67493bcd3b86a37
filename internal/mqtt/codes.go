package mqtt

// MQTT 5.0 reason codes (§2.4) Herald sends, and the 3.1.1 CONNACK return
// codes (§3.2.2.3).
const (
	codeSuccess                = 0x00
	codeGrantedQoS1            = 0x01
	codeGrantedQoS2            = 0x02
	codeDisconnectWithWill     = 0x04
	codeNoSubscriptionExisted  = 0x11
	codeUnspecified            = 0x80
	codeMalformed              = 0x81
	codeProtocolError          = 0x82
	codeImplementationSpecific = 0x83
	codeUnsupportedVersion     = 0x84
	codeClientIDNotValid       = 0x85
	codeBadUserOrPassword      = 0x86
	codeNotAuthorized          = 0x87
	codeServerUnavailable      = 0x88
	codeServerShuttingDown     = 0x8B
	codeBadAuthMethod          = 0x8C
	codeKeepAliveTimeout       = 0x8D
	codeSessionTakenOver       = 0x8E
	codeTopicFilterInvalid     = 0x8F
	codeTopicNameInvalid       = 0x90
	codePacketIDNotFound       = 0x92
	codeReceiveMaxExceeded     = 0x93
	codeTopicAliasInvalid      = 0x94
	codePacketTooLarge         = 0x95
	codeMessageRateTooHigh     = 0x96
	codeQuotaExceeded          = 0x97
	codePayloadFormatInvalid   = 0x99
	codeSharedNotSupported     = 0x9E
	codeConnectionRateExceeded = 0x9F

	// 3.1.1 CONNACK return codes.
	code3Accepted           = 0x00
	code3BadVersion         = 0x01
	code3IdentifierRejected = 0x02
	code3ServerUnavailable  = 0x03
	code3BadUserOrPassword  = 0x04
	code3NotAuthorized      = 0x05

	// The 3.1.1 SUBACK failure return code.
	code3SubackFailure = 0x80
)

// connack3 maps a 5.0 CONNACK reason code to the 3.1.1 return code with
// the same meaning (§3.2.2.3 has five).
func connack3(code byte) byte {
	switch code {
	case codeSuccess:
		return code3Accepted
	case codeUnsupportedVersion:
		return code3BadVersion
	case codeClientIDNotValid:
		return code3IdentifierRejected
	case codeBadUserOrPassword:
		return code3BadUserOrPassword
	case codeNotAuthorized:
		return code3NotAuthorized
	}
	return code3ServerUnavailable
}
