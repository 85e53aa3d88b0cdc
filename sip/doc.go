// Package sip is voxgate's SIP side: SDP offer/answer and codec
// negotiation for call legs. It is the only package that will import sipgo.
package sip
