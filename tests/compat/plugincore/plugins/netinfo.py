import os
import psutil
import socket
import asyncio
import time
from plughost import BasePlugin

class NetCounter:
	"""
	This class wraps an asyncio task to collect data for the amount
	of data received/transmitted over the course of the interval and converts
	to bytes per second
	"""
	def __init__(self,**kwargs):
		self.running = False
		self.data_ready = False
		self.iface = kwargs.get('iface')
		self.interval = kwargs.get('interval',2.5)
		self.tx_bps = 0
		self.rx_bps = 0

		if not self.iface:
			raise ValueError('No value for iface')
		ifdata = psutil.net_io_counters(True)
		if not self.iface in ifdata:
			raise ValueError(f"{self.iface} has no stats available")
		self.bytes_in = int(ifdata[self.iface].bytes_recv)
		self.bytes_out = int(ifdata[self.iface].bytes_sent)

	async def runner(self):
		self.running = True
		last_time = None
		while self.running:
			if last_time:
				ifdata = psutil.net_io_counters(True)[self.iface]
				indiff = ifdata.bytes_recv - self.bytes_in
				outdiff = ifdata.bytes_sent - self.bytes_out
				self.bytes_in = ifdata.bytes_recv
				self.bytes_out = ifdata.bytes_sent
				secs = time.time() - last_time
				self.tx_bps = int(outdiff/secs)
				self.rx_bps = int(indiff/secs)
				self.data_ready = True
			last_time = time.time()
			await asyncio.sleep(self.interval)
		print(f"runner for {self.iface} completed.")

	async def start(self):
		self._task = asyncio.create_task(self.runner())
		return self

	def get_speeds(self) -> tuple:
		def format(n):
			if n > 1024**3:
				factor, typ = 1024**3, 'gb'
			if n > 1024**2:
				factor, typ = 1024**2, 'mb'
			elif n > 1024:
				factor, typ = 1024, 'kb'
			else:
				factor, typ = 1,'b'
			return f"{round(n/factor,2)}{typ}ps"
		return (format(self.tx_bps),format(self.rx_bps))

class Netinfo(BasePlugin):
	def __init__(self,**kwargs):
		self.kicked = False
		self.counters = {}
		super().__init__(**kwargs)
		for iface in psutil.net_io_counters(True).keys():
			self.counters[iface] = NetCounter(iface=iface)

	async def kicker(self):
		for iface in self.counters.keys():
			await self.counters[iface].start()

	async def if_info(self,**data:dict) ->dict:
		if_info = []
		for iface, ifdata in psutil.net_if_addrs().items():
			for i in ifdata:
				if i.family == socket.AddressFamily.AF_INET:
					mask = sum(bin(int(octet)).count('1') for octet in i.netmask.split('.'))
					if iface in self.counters and self.counters[iface].data_ready:
						tx, rx = self.counters[iface].get_speeds()
					else:
						tx,rx = 'n/a','n/a'
					if_info.append({
						'iface': iface,
						'address': f"{i.address}/{mask}",
						"tx": tx,
						"rx": rx
					})
		return if_info

	def terminate_plugin(self):
		for id, counter in self.counters.items():
			counter.running = False


	async def request_handler(self,**data:dict) -> tuple:
		if not self.kicked:
			await self.kicker()
			self.kicked = True
		response_data = await self.if_info(**data)
		return (200, response_data)
